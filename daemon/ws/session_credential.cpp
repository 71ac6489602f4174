// The session's credential: admitted with the upgrade or an `authenticate`
// request, admitted again (as a request) before every op, re-checked when an
// event or its expiry may have withdrawn it; a withdrawn one closes the
// session (1008).
#include <boost/asio/post.hpp>

#include "common/core/error.hpp"
#include "common/core/log.hpp"
#include "common/core/problem.hpp"
#include "common/keys/redact.hpp"
#include "daemon/admission/request_admission.hpp"
#include "daemon/ws/hub.hpp"
#include "daemon/ws/session.hpp"

namespace pb::daemon::http_detail {

namespace websocket = boost::beast::websocket;
using boost::system::error_code;
using nlohmann::json;

Request WsSession::request_view() {
    m_headers.clear();
    for (const auto& [name, value] : m_fields) {
        m_headers.push_back({name, value});
    }
    return Request{"GET", m_target, m_headers, {}, m_remote};
}

// On the pool: bans and rate limits of the address, and a credential sent
// with the upgrade request. A refusal is an HTTP answer, not a WebSocket.
void WsSession::admit() {
    int status = 0;
    std::string body;
    Response fields;  // the RateLimit fields and Retry-After of a refusal
    try {
        const auto request = request_view();
        const auto verdict =
            m_hub.services().admission().admit(facts_of(request, admission::Door::ws_upgrade));
        m_client = verdict.client;
        enforce(verdict, fields);
        if (verdict.credential) {
            become(*verdict.credential, std::string(presented_key(request)));
        }
    } catch (const Error& e) {
        status = http_status(e.code());
        body = problem_document(keys::redact_keys_error(e), status)
                   .dump(-1, ' ', false, json::error_handler_t::replace);
    } catch (const std::exception& e) {
        ws_logger()->error("admitting a WebSocket from {}: {}", m_remote, e.what());
        status = 500;
        body = problem_document(Error(ErrorCode::internal, "internal error"), status).dump();
    }
    std::string headers;
    for (const auto& [name, value] : fields.headers) {
        headers += "\r\n" + std::string(name) + ": " + value;
    }
    asio::post(m_ws.get_executor(), [self = shared_from_this(), status, body, headers] {
        if (status != 0) {
            return self->refuse(status, body, headers);
        }
        self->accept();
    });
}

// Verifies `text` and admits it as a session's credential: bans are
// checked, nothing is counted or spent (each op is, as a request).
admission::Credential WsSession::admit_credential(const std::string& text) {
    auto verdict = m_hub.services().admission().admit(
        {.door = admission::Door::ws_check, .credential = text, .client = m_client});
    Response ignored;
    enforce(verdict, ignored);
    return std::move(*verdict.credential);
}

// On the pool: the session is `credential` (its text kept, to be verified
// again before every op and whenever an event may have withdrawn it).
void WsSession::become(const admission::Credential& credential, std::string text) {
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
std::optional<UnixMillis> WsSession::token_valid_until(std::string_view token) {
    try {
        auto& tokens = m_hub.services().tokens();
        const auto claims = tokens.inspect(token)["claims"];
        if (const auto exp = claims.find("exp"); exp != claims.end() && exp->is_number()) {
            return static_cast<UnixMillis>(exp->get<double>() * 1000) + tokens.settings().leeway_ms;
        }
    } catch (const Error&) {
    }
    return std::nullopt;
}

// On the executor: a re-check when the credential expires by itself (no
// event tells of that).
void WsSession::arm_expiry(std::optional<UnixMillis> until) {
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
void WsSession::readmit(admission::Door door, const ops::Op* op) {
    std::string text;
    std::vector<std::string> permissions;
    {
        std::lock_guard lock(m_cred_mutex);
        text = m_credential;
        permissions = m_caller->permissions;
    }
    try {
        const auto verdict = m_hub.services().admission().admit({.door = door,
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
void WsSession::withdraw(const std::string& text, const std::string& reason) {
    std::lock_guard lock(m_cred_mutex);
    if (m_credential == text && !m_withdrawn) {
        m_withdrawn = "credential withdrawn: " + reason;
    }
}

// Closes the session (1008) when its credential was withdrawn.
void WsSession::close_if_withdrawn() {
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
            ws_logger()->info("closing WebSocket {} (session {}): {}", self->m_remote, self->m_id,
                              reason);
        }
        self->close_with(websocket::close_code::policy_error, reason);
    });
}

// On the pool, after an event that may withdraw the credential or at its
// expiry: spends nothing.
void WsSession::revalidate() {
    if (!m_authenticated.load()) {
        return;
    }
    try {
        readmit(admission::Door::ws_check);
    } catch (const Error& e) {
        if (e.code() == ErrorCode::unavailable || e.code() == ErrorCode::internal) {
            ws_logger()->warn("re-checking WebSocket session {}: {}", m_id, e.what());
        }
    } catch (const std::exception& e) {
        ws_logger()->error("re-checking WebSocket session {}: {}", m_id, e.what());
    }
    close_if_withdrawn();
}

std::optional<ops::Caller> WsSession::current_caller() {
    std::lock_guard lock(m_cred_mutex);
    return m_caller;
}
}  // namespace pb::daemon::http_detail
