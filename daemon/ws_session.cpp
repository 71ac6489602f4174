// One WebSocket connection: Beast frames, JSON requests, ops on the hub's pool.
#include "daemon/ws_session.hpp"

#include <algorithm>
#include <deque>
#include <mutex>

#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "common/core/error.hpp"
#include "common/core/log.hpp"
#include "common/events/topics.hpp"
#include "common/runtime/dispatcher.hpp"
#include "common/runtime/op_table.hpp"
#include "daemon/admission/request_admission.hpp"
#include "daemon/ws_hub.hpp"
#include "daemon/ws_message.hpp"

namespace pb::daemon::http_detail {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using boost::system::error_code;
using nlohmann::json;
using Timer = asio::basic_waitable_timer<std::chrono::steady_clock,
                                         asio::wait_traits<std::chrono::steady_clock>, Executor>;

// Requests read but not yet answered, per connection; more are refused.
constexpr std::size_t k_max_in_flight = 64;
// Failed `authenticate` messages before the socket is closed (1008).
constexpr int k_max_failed_auth = 3;

const std::shared_ptr<spdlog::logger>& logger() {
    static const auto l = log::get("daemon.ws");
    return l;
}

std::shared_ptr<const std::string> frame(const json& j) {
    return std::make_shared<const std::string>(
        j.dump(-1, ' ', false, json::error_handler_t::replace));
}

std::string http_reason(int status) {
    return std::string(http::obsolete_reason(http::int_to_status(static_cast<unsigned>(status))));
}

}  // namespace

bool wants_websocket(const Request& request) {
    if (request.method != "GET") {
        return false;
    }
    // Upgrade may list several protocols: "websocket" must be one of them.
    auto value = request.header("Upgrade");
    while (!value.empty()) {
        const auto comma = value.find(',');
        if (iequals(trim_ows(value.substr(0, comma)), "websocket")) {
            return true;
        }
        value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
    }
    return false;
}

class WsSession final : public WsSink, public std::enable_shared_from_this<WsSession> {
  public:
    WsSession(ServerState& server, Socket socket, const Request& request)
        : m_server(server),
          m_hub(*server.websocket),
          m_ws(std::move(socket)),
          m_auth_timer(m_ws.get_executor()),
          m_expiry_timer(m_ws.get_executor()),
          m_target(request.target),
          m_remote(request.remote) {
        for (const auto& h : request.headers) {
            m_fields.emplace_back(h.name, h.value);
        }
        m_server.metrics.connection_opened();
        m_hub.open_sessions.fetch_add(1, std::memory_order_relaxed);
    }
    ~WsSession() override {
        m_hub.open_sessions.fetch_sub(1, std::memory_order_relaxed);
        m_server.metrics.connection_closed();
    }
    WsSession(const WsSession&) = delete;
    WsSession& operator=(const WsSession&) = delete;

    // Runs on the worker's thread.
    void start() {
        m_id = m_hub.attach(weak_from_this());
        m_hub.run_blocking([self = shared_from_this()] { self->admit(); });
    }

    void push(std::shared_ptr<const std::string> text) override {
        std::lock_guard lock(m_out_mutex);
        if (m_finished) {
            return;
        }
        // One frame larger than the bound still goes when nothing else waits.
        if (m_out_bytes > 0 && m_out_bytes + text->size() > m_hub.options().max_queue) {
            if (!m_overflowed) {
                m_overflowed = true;
                asio::post(m_ws.get_executor(), [self = shared_from_this()] { self->on_slow(); });
            }
            return;
        }
        m_out_bytes += text->size();
        m_out.push_back(std::move(text));
        if (!m_flushing) {
            m_flushing = true;
            asio::post(m_ws.get_executor(), [self = shared_from_this()] { self->flush(); });
        }
    }

    std::uint64_t queued_bytes() const override {
        std::lock_guard lock(m_out_mutex);
        return m_out_bytes;
    }

    void drop_slow() override {
        {
            std::lock_guard lock(m_out_mutex);
            if (m_overflowed) {
                return;
            }
            m_overflowed = true;
        }
        asio::post(m_ws.get_executor(), [self = shared_from_this()] { self->on_slow(); });
    }

    void going_away() override {
        asio::post(m_ws.get_executor(), [self = shared_from_this()] {
            self->close_with(websocket::close_code::going_away, "pbd is stopping");
        });
    }

    void recheck() override {
        if (m_recheck_queued.exchange(true)) {
            return;  // one re-check is enough for every event before it runs
        }
        m_hub.run_blocking([self = shared_from_this()] {
            self->m_recheck_queued.store(false);
            self->revalidate();
        });
    }

  private:
    Request request_view() {
        m_headers.clear();
        for (const auto& [name, value] : m_fields) {
            m_headers.push_back({name, value});
        }
        return Request{"GET", m_target, m_headers, {}, m_remote};
    }

    // On the pool: bans and rate limits of the address, and a credential sent
    // with the upgrade request. A refusal is an HTTP answer, not a WebSocket.
    void admit() {
        int status = 0;
        std::string body;
        try {
            Response ignored;
            const auto request = request_view();
            const auto verdict =
                m_hub.services().admission().admit(facts_of(request, admission::Door::ws_upgrade));
            m_client = verdict.client;
            enforce(verdict, ignored);
            if (verdict.credential) {
                become(*verdict.credential, std::string(presented_key(request)));
            }
        } catch (const Error& e) {
            status = http_status(e.code());
            body =
                json{{"error", e.to_json()}}.dump(-1, ' ', false, json::error_handler_t::replace);
        } catch (const std::exception& e) {
            logger()->error("admitting a WebSocket from {}: {}", m_remote, e.what());
            status = 500;
            body = R"({"error":{"code":"internal","message":"internal error","details":{}}})";
        }
        asio::post(m_ws.get_executor(), [self = shared_from_this(), status, body] {
            if (status != 0) {
                return self->refuse(status, body);
            }
            self->accept();
        });
    }

    // Verifies `text` and admits it as a session's credential: bans are
    // checked, nothing is counted or spent (each op is, as a request).
    admission::Credential admit_credential(const std::string& text) {
        auto verdict = m_hub.services().admission().admit(
            {.door = admission::Door::ws_check, .credential = text, .client = m_client});
        Response ignored;
        enforce(verdict, ignored);
        return std::move(*verdict.credential);
    }

    // On the pool: the session is `credential` (its text kept, to be verified
    // again before every op and whenever an event may have withdrawn it).
    void become(const admission::Credential& credential, std::string text) {
        m_hub.set_caller(m_id, credential.caller);
        auto until = credential.key.key ? credential.key.valid_until : token_valid_until(text);
        {
            std::lock_guard lock(m_cred_mutex);
            m_caller = credential.caller;
            m_credential = std::move(text);
        }
        m_authenticated.store(true);
        asio::post(m_ws.get_executor(),
                   [self = shared_from_this(), until] { self->arm_expiry(until); });
    }

    // When a verified JWT stops verifying by itself: exp plus the leeway.
    std::optional<UnixMillis> token_valid_until(std::string_view token) {
        try {
            auto& tokens = m_hub.services().tokens();
            const auto claims = tokens.inspect(token)["claims"];
            if (const auto exp = claims.find("exp"); exp != claims.end() && exp->is_number()) {
                return static_cast<UnixMillis>(exp->get<double>() * 1000) +
                       tokens.settings().leeway_ms;
            }
        } catch (const Error&) {
        }
        return std::nullopt;
    }

    // On the executor: a re-check when the credential expires by itself (no
    // event tells of that).
    void arm_expiry(std::optional<UnixMillis> until) {
        m_expiry_timer.cancel();
        if (!until || m_finished_io) {
            return;
        }
        const auto delay = std::max<std::int64_t>(*until - m_hub.services().clock().now(), 0);
        // A little after: the re-check must find it expired.
        m_expiry_timer.expires_after(std::chrono::milliseconds(delay + 20));
        m_expiry_timer.async_wait([self = shared_from_this()](error_code ec) {
            if (!ec) {
                self->recheck();
            }
        });
    }

    // On the pool: the credential again, as an HTTP request would present
    // it: verified from the in-memory indexes, its permissions unchanged,
    // then admitted (bans, limits; one use spent at Door::ws_op). A
    // credential withdrawn (revoked, deleted, expired, exhausted, banned,
    // permissions changed) sets m_withdrawn; throws the refusal.
    void readmit(admission::Door door, const ops::Op* op = nullptr) {
        std::string text;
        std::vector<std::string> permissions;
        {
            std::lock_guard lock(m_cred_mutex);
            text = m_credential;
            permissions = m_caller->permissions;
        }
        try {
            const auto verdict =
                m_hub.services().admission().admit({.door = door,
                                                    .credential = text,
                                                    .client = m_client,
                                                    .held_permissions = &permissions,
                                                    .op = op});
            Response ignored;
            enforce(verdict, ignored, PermissionRefusal::dispatched);
            const auto& left = verdict.remaining;
            if (left && *left <= 0) {
                withdraw(text, "exhausted");  // this op was its last use
            }
        } catch (const Error& e) {
            if (e.code() == ErrorCode::unauthenticated || e.code() == ErrorCode::banned) {
                withdraw(text, e.code() == ErrorCode::banned
                                   ? std::string("banned")
                                   : e.details().value("reason", std::string("refused")));
            }
            throw;
        }
    }

    // Marks the session's credential `text` withdrawn (unless it has been
    // replaced meanwhile): the session closes once the answers queued go.
    void withdraw(const std::string& text, const std::string& reason) {
        std::lock_guard lock(m_cred_mutex);
        if (m_credential == text && !m_withdrawn) {
            m_withdrawn = "credential withdrawn: " + reason;
        }
    }

    // Closes the session (1008) when its credential was withdrawn.
    void close_if_withdrawn() {
        std::optional<std::string> reason;
        {
            std::lock_guard lock(m_cred_mutex);
            reason = m_withdrawn;
        }
        if (!reason) {
            return;
        }
        asio::post(m_ws.get_executor(), [self = shared_from_this(), reason = *reason] {
            if (!self->m_closing) {
                logger()->info("closing WebSocket {} (session {}): {}", self->m_remote, self->m_id,
                               reason);
            }
            self->close_with(websocket::close_code::policy_error, reason);
        });
    }

    // On the pool, after an event that may withdraw the credential or at its
    // expiry: spends nothing.
    void revalidate() {
        if (!m_authenticated.load()) {
            return;
        }
        try {
            readmit(admission::Door::ws_check);
        } catch (const Error& e) {
            if (e.code() == ErrorCode::unavailable || e.code() == ErrorCode::internal) {
                logger()->warn("re-checking WebSocket session {}: {}", m_id, e.what());
            }
        } catch (const std::exception& e) {
            logger()->error("re-checking WebSocket session {}: {}", m_id, e.what());
        }
        close_if_withdrawn();
    }

    void refuse(int status, const std::string& body) {
        auto text = std::make_shared<std::string>("HTTP/1.1 " + std::to_string(status) + " " +
                                                  http_reason(status));
        *text += "\r\nContent-Type: application/json\r\nCache-Control: no-store";
        if (status == 401) {
            *text += "\r\nWWW-Authenticate: Bearer";
        }
        *text += "\r\nContent-Length: " + std::to_string(body.size()) +
                 "\r\nConnection: close\r\n\r\n" + body;
        asio::async_write(m_ws.next_layer(), asio::buffer(*text),
                          [self = shared_from_this(), text](error_code, std::size_t) {
                              self->hard_close();
                              self->finish();
                          });
    }

    void accept() {
        http::request<http::empty_body> req;
        req.method(http::verb::get);
        req.target(m_target);
        req.version(11);
        for (const auto& [name, value] : m_fields) {
            req.insert(name, value);
        }
        m_fields.clear();
        m_fields.shrink_to_fit();
        const auto& o = m_hub.options();
        m_ws.read_message_max(o.max_message);
        m_ws.auto_fragment(false);
        // Small write buffer: idle connections should cost little memory.
        m_ws.write_buffer_bytes(4096);
        websocket::stream_base::timeout timeout{};
        timeout.handshake_timeout = std::chrono::seconds(10);
        timeout.idle_timeout = o.idle_timeout;
        timeout.keep_alive_pings = true;
        m_ws.set_option(timeout);
        m_ws.async_accept(req, [self = shared_from_this()](error_code ec) {
            if (ec) {
                self->hard_close();
                return self->finish();
            }
            if (!self->m_authenticated.load()) {
                self->arm_auth_timer();
            }
            self->read();
        });
    }

    void arm_auth_timer() {
        m_auth_timer.expires_after(m_hub.options().auth_timeout);
        m_auth_timer.async_wait([self = shared_from_this()](error_code ec) {
            if (ec || self->m_authenticated.load()) {
                return;
            }
            self->m_hub.closed_by_protocol.fetch_add(1, std::memory_order_relaxed);
            self->close_with(websocket::close_code::policy_error,
                             "not authenticated within ws.auth_timeout");
        });
    }

    void read() {
        m_ws.async_read(
            m_in, [self = shared_from_this()](error_code ec, std::size_t) { self->on_read(ec); });
    }

    void on_read(error_code ec) {
        if (ec) {
            logger()->debug("WebSocket {} (session {}) ended: {}", m_remote, m_id, ec.message());
            // Beast has already sent the close frame a protocol violation
            // calls for (1002 bad frame, 1007 bad UTF-8, 1009 too big).
            if (ec != websocket::error::closed && ec != asio::error::operation_aborted &&
                ec != asio::error::eof && ec != asio::error::connection_reset &&
                ec != beast::error::timeout) {
                m_hub.closed_by_protocol.fetch_add(1, std::memory_order_relaxed);
            }
            // Not closed here: Beast is still seeing its close handshake
            // through, and the socket closes with the session.
            return finish();
        }
        m_hub.messages_in.fetch_add(1, std::memory_order_relaxed);
        if (!m_ws.got_text()) {
            m_in.clear();
            m_hub.closed_by_protocol.fetch_add(1, std::memory_order_relaxed);
            close_with(websocket::close_code::unknown_data,
                       "binary messages are not supported; send JSON text");
            return read();
        }
        json message;
        std::string why;
        try {
            message = parse_ws_message(beast::buffers_to_string(m_in.data()));
        } catch (const Error& e) {
            // Told in an error frame and in the close reason (at most 123 bytes).
            message = json(json::value_t::discarded);
            push(frame({{"id", nullptr}, {"ok", false}, {"error", e.to_json()}}));
            why = std::string(e.what()).substr(0, 120);
        }
        m_in.clear();
        if (m_in.capacity() > 65536) {
            m_in.shrink_to_fit();  // a large message does not pin its buffer
        }
        if (message.is_discarded()) {
            m_hub.closed_by_protocol.fetch_add(1, std::memory_order_relaxed);
            close_with(websocket::close_code::bad_payload, why);
            return read();
        }
        if (!m_closing) {
            enqueue(std::move(message));
        }
        read();
    }

    void enqueue(json message) {
        if (!is_ws_request(message)) {
            return push(frame({{"id", ws_request_id(message)},
                               {"ok", false},
                               {"error", Error(ErrorCode::invalid_argument,
                                               R"(a request is {"id":…,"op":"…","args":{…}})")
                                             .to_json()}}));
        }
        if (m_requests.size() >= k_max_in_flight) {
            return push(
                frame({{"id", message.value("id", json())},
                       {"ok", false},
                       {"error", Error(ErrorCode::rate_limited,
                                       "more than 64 requests waiting on this connection; wait for "
                                       "answers before sending more")
                                     .to_json()}}));
        }
        m_requests.push_back(std::move(message));
        next_request();
    }

    // Requests run one at a time, in order, on the hub's pool.
    void next_request() {
        if (m_closing) {
            m_requests.clear();  // nothing more runs on a session being closed
        }
        if (m_running || m_requests.empty()) {
            return;
        }
        m_running = true;
        auto message = std::move(m_requests.front());
        m_requests.pop_front();
        m_hub.run_blocking([self = shared_from_this(), message = std::move(message)] {
            self->execute(message);
            asio::post(self->m_ws.get_executor(), [self] {
                self->m_running = false;
                self->next_request();
            });
        });
    }

    // On the pool.
    void execute(const json& message) {
        const json id = ws_request_id(message);
        const auto& op = message["op"].get_ref<const std::string&>();
        try {
            const auto request = decode_ws_request(message);
            auto result = run(request.op, request.args);
            push(frame({{"id", id}, {"ok", true}, {"result", std::move(result)}}));
        } catch (const Error& e) {
            push(frame({{"id", id}, {"ok", false}, {"error", e.to_json()}}));
            if (op == "authenticate" && e.code() == ErrorCode::unauthenticated &&
                ++m_failed_auth >= k_max_failed_auth) {
                asio::post(m_ws.get_executor(), [self = shared_from_this()] {
                    self->m_hub.closed_by_protocol.fetch_add(1, std::memory_order_relaxed);
                    self->close_with(websocket::close_code::policy_error,
                                     "too many failed authentications");
                });
            }
        } catch (const std::exception& e) {
            logger()->error("{} over WebSocket from {}: unexpected failure: {}", op, m_remote,
                            e.what());
            push(frame({{"id", id},
                        {"ok", false},
                        {"error", Error(ErrorCode::internal, "internal error").to_json()}}));
        }
        close_if_withdrawn();
    }

    json run(const std::string& op, const json& args) {
        auto& services = m_hub.services();
        if (op == "authenticate") {
            auto text = ws_credential(args);
            const auto credential = admit_credential(text);
            become(credential, std::move(text));
            return {{"authenticated", true},
                    {"actor", credential.caller.actor},
                    {"permissions", credential.caller.permissions},
                    {"session", m_id}};
        }
        if (op == "token_refresh") {
            // A refresh token is a credential of its own: it may open a socket.
            static const ops::Caller k_anonymous{"anonymous", {}};
            const auto* refresh = runtime::op_table().find("tokens.refresh");
            const auto caller = current_caller();
            auto result =
                runtime::dispatch(services, *refresh, args, caller ? *caller : k_anonymous);
            // A socket opened with an API key keeps it; a JWT one moves on.
            if ((!caller || caller->key_id.empty()) && result.contains("access_token")) {
                auto text = result["access_token"].get<std::string>();
                const auto credential = admit_credential(text);
                become(credential, std::move(text));
            }
            return result;
        }
        if (!current_caller()) {
            throw Error(ErrorCode::unauthenticated,
                        "authenticate first: {\"op\":\"authenticate\",\"args\":{\"api_key\":…}} "
                        "or an Authorization header on the upgrade",
                        {{"reason", "missing"}});
        }
        // Every op is admitted as an HTTP request would be: the credential
        // verified again, its bans and limits, one use of a counted key.
        readmit(admission::Door::ws_op, runtime::op_table().find(op));
        const auto caller = *current_caller();
        if (op == "subscribe") {
            check_topic_permissions(caller, args);
            return m_hub.subscribe(m_id, args);
        }
        if (op == "unsubscribe") {
            return m_hub.unsubscribe(m_id, args);
        }
        if (op == "join_room") {
            return m_hub.join_room(m_id, args);
        }
        if (op == "leave_room") {
            return m_hub.leave_room(m_id, args);
        }
        if (op == "room_message") {
            return m_hub.room_message(m_id, args);
        }
        if (op == "get_room_info") {
            return m_hub.room_info(m_id, args);
        }
        const auto* found = runtime::op_table().find(op);
        if (found == nullptr) {
            throw Error(ErrorCode::not_found, "unknown op \"" + op + "\"", {{"op", op}});
        }
        auto result = runtime::dispatch(services, *found, args, caller, ops::NameStyle::field);
        if (found->mutates == ops::Mutates::yes) {
            m_hub.poke();
        }
        return result;
    }

    std::optional<ops::Caller> current_caller() {
        std::lock_guard lock(m_cred_mutex);
        return m_caller;
    }

    void check_topic_permissions(const ops::Caller& caller, const json& args) {
        const auto it = args.find("topics");
        if (it == args.end()) {
            return;  // the hub explains what is missing
        }
        const json list = it->is_string() ? json::array({*it}) : *it;
        for (const auto& t : list) {
            if (!t.is_string()) {
                continue;
            }
            const auto& pattern = t.get_ref<const std::string&>();
            events::check_pattern(pattern);
            const auto needed = events::read_permission(pattern);
            if (!ops::has_permission(caller.permissions, needed) &&
                !ops::has_permission(caller.permissions, "events:read")) {
                throw Error(
                    ErrorCode::permission_denied,
                    "subscribing to \"" + pattern + "\" needs the permission \"" + needed + "\"",
                    {{"permission", needed}, {"topic", pattern}});
            }
        }
    }

    // Writes queued frames one at a time; the only writer of m_ws (with close).
    void flush() {
        if (m_writing) {
            return;
        }
        {
            std::lock_guard lock(m_out_mutex);
            if (m_out.empty() || m_close_sent) {
                m_flushing = false;
                if (m_out.empty() && m_closing && !m_close_sent) {
                    // fall through to the close below, outside the lock
                } else {
                    return;
                }
            } else {
                m_current = std::move(m_out.front());
                m_out.pop_front();
            }
        }
        if (!m_current) {
            return send_close();
        }
        m_writing = true;
        m_ws.text(true);
        m_ws.async_write(asio::buffer(*m_current),
                         [self = shared_from_this()](error_code ec, std::size_t) {
                             self->m_writing = false;
                             {
                                 std::lock_guard lock(self->m_out_mutex);
                                 self->m_out_bytes -= self->m_current->size();
                             }
                             self->m_current.reset();
                             if (ec) {
                                 logger()->debug("WebSocket {} (session {}): write failed: {}",
                                                 self->m_remote, self->m_id, ec.message());
                                 self->hard_close();
                                 return;
                             }
                             self->m_hub.messages_out.fetch_add(1, std::memory_order_relaxed);
                             self->flush();
                         });
    }

    // Sends a close frame once what is queued has gone (the read loop ends
    // when the peer answers it, or at the timeout).
    void close_with(websocket::close_code code, std::string_view reason) {
        if (m_closing) {
            return;
        }
        m_closing = true;
        m_close_reason = websocket::close_reason(code, reason);
        if (!m_writing) {
            flush();
        }
    }

    void send_close() {
        if (m_close_sent) {
            return;
        }
        m_close_sent = true;
        m_ws.async_close(m_close_reason, [self = shared_from_this()](error_code ec) {
            if (ec) {
                self->hard_close();
            }
        });
    }

    // A client that does not read its events is cut off: with a close frame
    // when nothing is being written (1013), else at once (it would never read it).
    void on_slow() {
        m_hub.dropped_slow.fetch_add(1, std::memory_order_relaxed);
        logger()->info("dropping WebSocket client {} (session {}): more than ws.max_queue behind",
                       m_remote, m_id);
        {
            std::lock_guard lock(m_out_mutex);
            m_out.clear();
            m_out_bytes = m_current ? m_current->size() : 0;
        }
        if (m_writing) {
            return hard_close();
        }
        close_with(websocket::close_code::try_again_later, "too slow: fell behind ws.max_queue");
    }

    void hard_close() {
        error_code ec;
        auto& socket = m_ws.next_layer();
        socket.shutdown(tcp::socket::shutdown_both, ec);
        socket.close(ec);
    }

    // The read loop ended: forget this session everywhere.
    void finish() {
        if (m_finished_io) {
            return;
        }
        m_finished_io = true;
        m_auth_timer.cancel();
        m_expiry_timer.cancel();
        {
            std::lock_guard lock(m_out_mutex);
            m_finished = true;
            m_out.clear();
        }
        m_requests.clear();
        m_hub.detach(m_id);
    }

    ServerState& m_server;
    WsHub& m_hub;
    websocket::stream<Socket> m_ws;
    Timer m_auth_timer;
    Timer m_expiry_timer;  // the executor's: re-checks the credential when it expires
    beast::flat_buffer m_in;
    std::string m_target;
    std::string m_remote;
    std::vector<std::pair<std::string, std::string>> m_fields;
    std::vector<Header> m_headers;
    std::uint64_t m_id = 0;

    // The credential (its text, who it was when last admitted) and whether
    // it was withdrawn: requests and re-checks (pool jobs) both touch them.
    std::mutex m_cred_mutex;
    std::optional<ops::Caller> m_caller;
    std::string m_credential;
    std::optional<std::string> m_withdrawn;
    std::atomic<bool> m_recheck_queued{false};

    // Touched by one pool job at a time (requests run in order).
    std::optional<limits::IpAddress> m_client;
    int m_failed_auth = 0;
    std::atomic<bool> m_authenticated{false};

    // The worker thread's.
    std::deque<json> m_requests;
    bool m_running = false;
    bool m_writing = false;
    bool m_closing = false;
    bool m_close_sent = false;
    bool m_finished_io = false;
    websocket::close_reason m_close_reason;
    std::shared_ptr<const std::string> m_current;

    // Frames waiting to be written, from any thread.
    mutable std::mutex m_out_mutex;
    std::deque<std::shared_ptr<const std::string>> m_out;
    std::uint64_t m_out_bytes = 0;
    bool m_flushing = false;
    bool m_overflowed = false;
    bool m_finished = false;
};

void serve_websocket(ServerState& server, Socket socket, const Request& request) {
    std::make_shared<WsSession>(server, std::move(socket), request)->start();
}

}  // namespace pb::daemon::http_detail
