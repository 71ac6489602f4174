// The session's socket, on its worker's thread: the handshake (or the HTTP
// refusal), the read loop, the writes of queued frames, the closes.
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>

#include "common/core/error.hpp"
#include "common/core/log.hpp"
#include "daemon/ws/hub.hpp"
#include "daemon/ws/message.hpp"
#include "daemon/ws/session.hpp"

namespace pb::daemon::http_detail {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using boost::system::error_code;
using nlohmann::json;

std::string http_reason(int status) {
    return std::string(http::obsolete_reason(http::int_to_status(static_cast<unsigned>(status))));
}

}  // namespace

void WsSession::refuse(int status, const std::string& body, const std::string& headers) {
    auto text = std::make_shared<std::string>("HTTP/1.1 " + std::to_string(status) + " " +
                                              http_reason(status));
    *text += "\r\nContent-Type: application/problem+json\r\nCache-Control: no-store";
    if (status == 401) {
        *text += "\r\nWWW-Authenticate: Bearer";
    }
    *text += headers;
    *text += "\r\nContent-Length: " + std::to_string(body.size()) +
             "\r\nConnection: close\r\n\r\n" + body;
    asio::async_write(m_ws.next_layer(), asio::buffer(*text),
                      [self = shared_from_this(), text](error_code, std::size_t) {
                          self->hard_close();
                          self->finish();
                      });
}

void WsSession::accept() {
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

void WsSession::arm_auth_timer() {
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

void WsSession::read() {
    m_ws.async_read(m_in,
                    [self = shared_from_this()](error_code ec, std::size_t) { self->on_read(ec); });
}

void WsSession::on_read(error_code ec) {
    if (ec) {
        ws_logger()->debug("WebSocket {} (session {}) ended: {}", m_remote, m_id, ec.message());
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
        push(ws_frame({{"id", nullptr}, {"ok", false}, {"error", e.to_json()}}));
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

// Writes queued frames one at a time; the only writer of m_ws (with close).
void WsSession::flush() {
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
    m_ws.async_write(
        asio::buffer(*m_current),
        [self = shared_from_this()](error_code ec, std::size_t) { self->on_written(ec); });
}

void WsSession::on_written(error_code ec) {
    m_writing = false;
    {
        std::lock_guard lock(m_out_mutex);
        m_out_bytes -= m_current->size();
    }
    m_current.reset();
    if (ec) {
        ws_logger()->debug("WebSocket {} (session {}): write failed: {}", m_remote, m_id,
                           ec.message());
        hard_close();
        return;
    }
    m_hub.messages_out.fetch_add(1, std::memory_order_relaxed);
    flush();
}

// Sends a close frame once what is queued has gone (the read loop ends
// when the peer answers it, or at the timeout).
void WsSession::close_with(websocket::close_code code, std::string_view reason) {
    if (m_closing) {
        return;
    }
    m_closing = true;
    m_requests.clear();  // nothing more runs on a session being closed
    m_close_reason = websocket::close_reason(code, reason);
    if (!m_writing) {
        flush();
    }
}

void WsSession::send_close() {
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
void WsSession::on_slow() {
    m_hub.dropped_slow.fetch_add(1, std::memory_order_relaxed);
    ws_logger()->info("dropping WebSocket client {} (session {}): more than ws.max_queue behind",
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

void WsSession::hard_close() {
    error_code ec;
    auto& socket = m_ws.next_layer();
    socket.shutdown(tcp::socket::shutdown_both, ec);
    socket.close(ec);
}

// The read loop ended: forget this session everywhere.
void WsSession::finish() {
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
}  // namespace pb::daemon::http_detail
