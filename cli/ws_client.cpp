#include "cli/ws_client.hpp"

#include <deque>
#include <optional>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/stream.hpp>

namespace pb::cli {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using boost::system::error_code;

}  // namespace

struct WsLoop::Impl {
    asio::io_context ioc{1};
    // Keeps run_one_for() waiting out its time when no I/O is pending,
    // instead of returning at once (a busy loop until the deadline).
    asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(ioc);
    std::uint64_t received = 0;
};

WsLoop::WsLoop() : m_impl(std::make_unique<Impl>()) {}

WsLoop::~WsLoop() = default;

bool WsLoop::run_until(const std::function<bool()>& done, WsClock::time_point deadline) {
    auto& ioc = m_impl->ioc;
    ioc.restart();
    while (!done()) {
        const auto now = WsClock::now();
        if (now >= deadline) {
            return false;
        }
        ioc.run_one_for(deadline - now);
    }
    return true;
}

std::uint64_t WsLoop::messages_received() const {
    return m_impl->received;
}

// The socket and what its handlers fill in. Handlers hold it by shared_ptr:
// on a shared loop they may run after the WsClient is gone.
struct WsClient::State : std::enable_shared_from_this<State> {
    State(asio::io_context& ioc, std::uint64_t& loop_received) : ws(ioc), received(loop_received) {}

    websocket::stream<tcp::socket> ws;
    std::uint64_t& received;  // the loop's count
    websocket::response_type response;
    beast::flat_buffer buffer;
    // The connect or handshake under way (none: done).
    bool step_done = true;
    error_code step_error;
    bool reading = false;
    std::deque<WsMessage> messages;
    std::optional<WsMessage> ended;  // how the connection ended, once it did

    void close_socket() {
        error_code ignored;
        ws.next_layer().close(ignored);
    }

    // Runs the loop until the step under way is done; false on the deadline,
    // with the socket closed so that the step ends.
    bool finish_step(WsLoop& l, WsClock::time_point deadline) {
        if (l.run_until([this] { return step_done; }, deadline)) {
            return true;
        }
        close_socket();
        return false;
    }

    // Reads message after message into `messages` until the connection ends.
    void keep_reading() {
        reading = true;
        ws.async_read(
            buffer, [self = shared_from_this()](error_code ec, std::size_t) { self->on_read(ec); });
    }

    void on_read(error_code ec) {
        reading = false;
        WsMessage m;
        m.received_at = WsClock::now();
        if (ec) {
            m.kind = WsMessage::Kind::closed;
            // The peer's close frame, even when answering it failed (Beast
            // 1.74's server may close its socket right after a close it starts).
            m.close_code = static_cast<int>(ws.reason().code);
            m.close_reason = std::string(ws.reason().reason);
            if (ec != websocket::error::closed) {
                m.error = ec.message();
            }
            ended = std::move(m);
            return;
        }
        m.kind = ws.got_text() ? WsMessage::Kind::text : WsMessage::Kind::binary;
        m.payload = beast::buffers_to_string(buffer.data());
        buffer.clear();
        messages.push_back(std::move(m));
        ++received;
        keep_reading();
    }
};

WsClient::WsClient(const WsTarget& target, WsClock::time_point deadline)
    : m_own_loop(std::make_unique<WsLoop>()),
      m_loop(m_own_loop.get()),
      m_state(std::make_shared<State>(m_loop->m_impl->ioc, m_loop->m_impl->received)) {
    connect(target, deadline);
}

WsClient::WsClient(WsLoop& loop, const WsTarget& target, WsClock::time_point deadline)
    : m_loop(&loop), m_state(std::make_shared<State>(loop.m_impl->ioc, loop.m_impl->received)) {
    connect(target, deadline);
}

void WsClient::connect(const WsTarget& target, WsClock::time_point deadline) {
    auto& s = *m_state;
    const auto fail = [this](std::string why) { m_upgrade.error = std::move(why); };
    error_code ec;
    tcp::resolver resolver(s.ws.get_executor());
    const auto found = resolver.resolve(target.host, target.port, ec);
    if (ec) {
        return fail(ec.message());
    }
    s.step_done = false;
    asio::async_connect(s.ws.next_layer(), found,
                        [self = m_state](error_code e, const tcp::endpoint&) {
                            self->step_error = e;
                            self->step_done = true;
                        });
    if (!s.finish_step(*m_loop, deadline)) {
        return fail("timed out connecting");
    }
    if (s.step_error) {
        return fail(s.step_error.message());
    }
    // No TCP_NODELAY (the tests' and the benchmark's clients never set it):
    // pbctl's one small message after the handshake leaves at once anyway,
    // and with it pbd's 1009 close of an oversized message can reset the
    // socket while the write's later fragments go out; Beast then aborts
    // the pending read that would have reported the close.
    s.ws.set_option(
        websocket::stream_base::decorator([headers = target.headers](websocket::request_type& req) {
            for (const auto& [name, value] : headers) {
                req.set(name, value);
            }
        }));
    if (target.max_message != 0) {
        s.ws.read_message_max(target.max_message);
    }
    s.step_done = false;
    s.ws.async_handshake(s.response, target.host + ":" + target.port, target.path,
                         [self = m_state](error_code e) {
                             self->step_error = e;
                             self->step_done = true;
                         });
    const bool answered = s.finish_step(*m_loop, deadline);
    m_upgrade.status = static_cast<int>(s.response.result_int());
    m_upgrade.body = s.response.body();
    if (!answered) {
        return fail("timed out during the WebSocket handshake");
    }
    if (s.step_error) {
        m_upgrade.declined = s.step_error == websocket::error::upgrade_declined;
        return fail(s.step_error.message());
    }
    m_upgrade.ok = true;
    s.keep_reading();
}

WsClient::~WsClient() {
    auto& s = *m_state;
    s.close_socket();
    // The pending I/O ends with operation_aborted at once: let its handlers
    // run while the loop is alive (they hold the state; if one did not, the
    // loop's destruction would free it).
    m_loop->run_until([&s] { return !s.reading && s.step_done; },
                      WsClock::now() + std::chrono::seconds(1));
}

bool WsClient::is_open() const {
    return m_upgrade.ok && !m_state->ended;
}

std::string WsClient::send_text(std::string_view text) {
    error_code ec;
    m_state->ws.text(true);
    m_state->ws.write(asio::buffer(text.data(), text.size()), ec);
    return ec ? ec.message() : std::string();
}

std::string WsClient::send_binary(std::string_view bytes) {
    error_code ec;
    m_state->ws.binary(true);
    m_state->ws.write(asio::buffer(bytes.data(), bytes.size()), ec);
    return ec ? ec.message() : std::string();
}

std::string WsClient::send_raw(std::string_view bytes) {
    error_code ec;
    asio::write(m_state->ws.next_layer(), asio::buffer(bytes.data(), bytes.size()), ec);
    return ec ? ec.message() : std::string();
}

WsMessage WsClient::read(WsClock::time_point deadline) {
    auto& s = *m_state;
    if (s.messages.empty() && !s.ended && m_upgrade.ok) {
        m_loop->run_until([&s] { return !s.messages.empty() || s.ended.has_value(); }, deadline);
    }
    if (!s.messages.empty()) {
        auto m = std::move(s.messages.front());
        s.messages.pop_front();
        return m;
    }
    if (s.ended) {
        return *s.ended;
    }
    WsMessage none;
    if (!m_upgrade.ok) {
        none.kind = WsMessage::Kind::closed;
        none.error = m_upgrade.error;
    }
    return none;
}

std::size_t WsClient::waiting() const {
    return m_state->messages.size();
}

void WsClient::close() {
    m_state->close_socket();
}

}  // namespace pb::cli
