// One HTTP/1.1 connection: Beast parses, the Router answers, Asio writes.
#include "daemon/http/connection.hpp"

#include <array>
#include <charconv>
#include <ctime>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>

#include "common/limits/ahead.hpp"
#include "daemon/http/router.hpp"
#include "daemon/ws_session.hpp"

namespace pb::daemon::http_detail {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

constexpr std::string_view k_continue = "HTTP/1.1 100 Continue\r\n\r\n";
// After a final answer with Connection: close, unread input is drained for at
// most this long (and this much), so the peer reads the answer rather than a reset.
constexpr auto k_linger = std::chrono::seconds(1);
constexpr std::size_t k_linger_bytes = 1 << 20;

// The Date header value, formatted once a second per thread.
std::string_view http_date() {
    thread_local std::time_t last = 0;
    thread_local std::array<char, 40> text{};
    thread_local std::size_t length = 0;
    const auto now = std::time(nullptr);
    if (now != last) {
        last = now;
        std::tm tm{};
        gmtime_r(&now, &tm);
        length = std::strftime(text.data(), text.size(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    }
    return {text.data(), length};
}

void append_number(std::string& out, std::uint64_t v) {
    std::array<char, 24> digits{};
    const auto end = std::to_chars(digits.data(), digits.data() + digits.size(), v).ptr;
    out.append(digits.data(), end);
}

}  // namespace

Connection::Connection(ServerState& server, Worker& worker, Socket socket, Load load)
    : m_server(server),
      m_worker(worker),
      m_socket(std::move(socket)),
      m_timer(m_socket.get_executor()),
      m_overloaded(load == Load::overloaded) {
    m_server.metrics.connection_opened();
}

Connection::~Connection() {
    m_worker.connections.erase(this);
    m_server.metrics.connection_closed();
}

void Connection::start() {
    m_worker.connections.insert(this);
    error_code ec;
    m_socket.set_option(tcp::no_delay(true), ec);
    const auto peer = m_socket.remote_endpoint(ec);
    if (!ec) {
        m_remote = peer.address().to_string() + ":" + std::to_string(peer.port());
    }
    if (m_server.draining.load()) {
        close();
        return;
    }
    m_deadline = Clock::now() + m_server.options.idle_timeout;
    wait_for_deadline();
    read_header();
}

void Connection::drain() {
    if (m_idle && m_buffer.size() == 0 && (!m_parser || !m_parser->got_some())) {
        close();
    }
}

void Connection::close() {
    if (m_closed) {
        return;
    }
    m_closed = true;
    error_code ec;
    m_socket.shutdown(tcp::socket::shutdown_both, ec);
    m_socket.close(ec);
    m_timer.cancel();
}

void Connection::touch() {
    m_deadline = Clock::now() + m_server.options.idle_timeout;
}

void Connection::wait_for_deadline() {
    m_timer.expires_at(m_deadline);
    m_timer.async_wait([self = shared_from_this()](error_code ec) {
        if (ec || self->m_closed) {
            return;  // cancelled: closed, or re-armed by linger()
        }
        if (Clock::now() >= self->m_deadline) {
            return self->close();
        }
        self->wait_for_deadline();
    });
}

void Connection::read_header() {
    m_idle = true;
    touch();
    m_parser.emplace(m_data);
    m_parser->header_limit(m_server.options.max_header);
    m_parser->body_limit(m_server.options.max_body);
    http::async_read_header(
        m_socket, m_buffer, *m_parser,
        [self = shared_from_this()](error_code ec, std::size_t) { self->on_header(ec); });
}

void Connection::on_header(error_code ec) {
    m_idle = false;
    if (ec) {
        return on_read_error(ec);
    }
    // Most bodies arrive with their header: parse them from the buffer at
    // once instead of starting another read.
    while (!m_parser->is_done() && m_buffer.size() > 0) {
        const auto used = m_parser->put(m_buffer.data(), ec);
        m_buffer.consume(used);
        if (ec == http::error::need_more) {
            ec = {};
            break;
        }
        if (ec) {
            return on_read_error(ec);
        }
        if (used == 0) {
            break;
        }
    }
    if (m_parser->is_done()) {
        return answer();
    }
    if (m_overloaded) {
        return refuse(503, ErrorCode::unavailable, "too many connections; try again later");
    }
    touch();
    if (m_data.expect_continue) {
        asio::async_write(m_socket, asio::buffer(k_continue.data(), k_continue.size()),
                          [self = shared_from_this()](error_code wec, std::size_t) {
                              if (wec) {
                                  return self->close();
                              }
                              self->read_body();
                          });
        return;
    }
    read_body();
}

void Connection::read_body() {
    http::async_read(m_socket, m_buffer, *m_parser,
                     [self = shared_from_this()](error_code ec, std::size_t) {
                         if (ec) {
                             return self->on_read_error(ec);
                         }
                         self->answer();
                     });
}

void Connection::on_read_error(error_code ec) {
    if (m_closed) {
        return;
    }
    if (ec == http::error::body_limit) {
        return refuse(413, ErrorCode::invalid_argument,
                      "request body larger than server.max_body (" +
                          std::to_string(m_server.options.max_body) + " bytes)");
    }
    if (ec == http::error::header_limit) {
        return refuse(431, ErrorCode::invalid_argument,
                      "request header larger than server.max_header (" +
                          std::to_string(m_server.options.max_header) + " bytes)");
    }
    const bool peer_gone = ec == http::error::end_of_stream || ec == http::error::partial_message ||
                           ec == asio::error::operation_aborted;
    if (!peer_gone && ec.category() == http::make_error_code(http::error::bad_target).category()) {
        return refuse(400, ErrorCode::invalid_argument, "malformed HTTP request: " + ec.message());
    }
    close();
}

Request& Connection::request() {
    m_headers.clear();
    for (std::size_t i = 0; i < m_data.field_count; ++i) {
        m_headers.push_back({m_data.fields[i].first, m_data.fields[i].second});
    }
    m_request = Request{m_data.method, m_data.target, m_headers, m_data.body, m_remote};
    return m_request;
}

void Connection::answer() {
    if (m_overloaded) {
        return refuse(503, ErrorCode::unavailable, "too many connections; try again later");
    }
    if (m_server.websocket != nullptr &&
        std::string_view(m_data.target).substr(0, m_data.target.find('?')) == "/ws") {
        if (!wants_websocket(request())) {
            return refuse(426, ErrorCode::invalid_argument,
                          "/ws speaks WebSocket only: send a WebSocket upgrade request");
        }
        // The socket is the WebSocket session's from now on.
        m_closed = true;
        m_timer.cancel();
        return serve_websocket(m_server, std::move(m_socket), m_request);
    }
    if (m_worker.redis) {
        // Limits live in Redis: ask without blocking this thread, then
        // answer with those checks already made (limits::PrepaidChecks).
        auto plan = m_server.router.plan(request());
        m_caller = std::move(plan.credential);
        if (!plan.calls.empty()) {
            return limits::check_ahead(*m_worker.redis, std::move(plan.calls),
                                       [self = shared_from_this()] { self->respond(); });
        }
    }
    respond();
}

void Connection::respond() {
    if (m_closed) {
        return;
    }
    auto& r = request();
    r.authenticated = m_caller ? &*m_caller : nullptr;
    m_server.router.handle(r, m_response);
    m_caller.reset();
    write(m_parser->keep_alive() && !m_server.draining.load(std::memory_order_relaxed));
}

void Connection::refuse(int status, ErrorCode code, const std::string& message) {
    m_server.router.reject(request(), status, code, message, m_response);
    write(false);
}

void Connection::write(bool keep_alive) {
    auto& h = m_head;
    h.clear();
    h += "HTTP/1.1 ";
    append_number(h, static_cast<std::uint64_t>(m_response.status));
    h += ' ';
    h += http::obsolete_reason(http::int_to_status(static_cast<unsigned>(m_response.status)));
    h += "\r\nContent-Type: ";
    h += m_response.content_type;
    h += "\r\nContent-Length: ";
    append_number(h, m_response.body.size());
    for (const auto& [name, value] : m_response.headers) {
        h += "\r\n";
        h += name;
        h += ": ";
        h += value;
    }
    h += "\r\nDate: ";
    h += http_date();
    if (!keep_alive) {
        h += "\r\nConnection: close";
    } else if (m_data.version < 11) {
        h += "\r\nConnection: keep-alive";
    }
    h += "\r\n\r\n";
    const bool head_only = m_data.method == "HEAD";
    const std::array<asio::const_buffer, 2> buffers{
        asio::buffer(m_head), head_only ? asio::const_buffer() : asio::buffer(m_response.body)};
    touch();
    asio::async_write(m_socket, buffers,
                      [self = shared_from_this(), keep_alive](error_code ec, std::size_t) {
                          if (ec) {
                              return self->close();
                          }
                          // Draining began while this answer was on its way.
                          if (!keep_alive || self->m_server.draining.load()) {
                              return self->linger();
                          }
                          self->read_header();
                      });
}

void Connection::linger() {
    error_code ec;
    m_socket.shutdown(tcp::socket::shutdown_send, ec);
    m_deadline = Clock::now() + k_linger;
    wait_for_deadline();
    m_buffer.clear();
    linger_read();
}

void Connection::linger_read() {
    m_socket.async_read_some(m_buffer.prepare(16384),
                             [self = shared_from_this()](error_code ec, std::size_t n) {
                                 self->m_lingered += n;
                                 if (ec || self->m_lingered > k_linger_bytes) {
                                     return self->close();
                                 }
                                 self->linger_read();
                             });
}

void serve(ServerState& server, Worker& worker, Socket socket, Load load) {
    auto connection = std::make_shared<Connection>(server, worker, std::move(socket), load);
    asio::dispatch(worker.ioc, [connection] { connection->start(); });
}

void drain(Worker& worker) {
    // Copied: closing does not destroy a connection at once, but be safe.
    const std::vector<Connection*> open(worker.connections.begin(), worker.connections.end());
    for (auto* c : open) {
        c->drain();
    }
}

}  // namespace pb::daemon::http_detail
