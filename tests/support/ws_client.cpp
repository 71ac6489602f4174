#include "tests/support/ws_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <gtest/gtest.h>

#include "cli/run_until.hpp"

namespace pb::test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

}  // namespace

struct WsClient::Impl {
    asio::io_context ioc{1};
    websocket::stream<tcp::socket> ws{ioc};
    beast::flat_buffer buffer;
    bool reading = false;
    bool done = false;
    error_code error;
    websocket::response_type response;

    // Runs the context until `done` or the deadline; false on the deadline.
    bool run_until(const bool& flag, Clock::time_point deadline) {
        return cli::run_until(ioc, flag, deadline);
    }

    error_code open(int port, const Headers& headers, const std::string& path) {
        error_code ec;
        ws.next_layer().connect(
            tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)),
            ec);
        if (ec) {
            return ec;
        }
        ws.set_option(websocket::stream_base::decorator([headers](websocket::request_type& req) {
            for (const auto& [name, value] : headers) {
                req.set(name, value);
            }
        }));
        ws.read_message_max(64 << 20);
        bool flag = false;
        ws.async_handshake(response, "127.0.0.1:" + std::to_string(port), path, [&](error_code e) {
            ec = e;
            flag = true;
        });
        if (!run_until(flag, Clock::now() + std::chrono::seconds(10))) {
            return asio::error::timed_out;
        }
        return ec;
    }
};

WsClient::WsClient(int port, const Headers& headers, const std::string& path)
    : m_impl(std::make_unique<Impl>()) {
    const auto ec = m_impl->open(port, headers, path);
    EXPECT_FALSE(ec) << "WebSocket upgrade failed: " << ec.message() << " (HTTP "
                     << m_impl->response.result_int() << ": " << m_impl->response.body() << ")";
    m_ok = !ec;
}

WsClient::~WsClient() {
    close();
}

std::pair<int, std::string> WsClient::try_upgrade(int port, const Headers& headers) {
    Impl impl;
    impl.open(port, headers, "/ws");
    return {static_cast<int>(impl.response.result_int()), impl.response.body()};
}

void WsClient::send_text(const std::string& text) {
    error_code ec;
    m_impl->ws.text(true);
    m_impl->ws.write(asio::buffer(text), ec);
}

void WsClient::send_binary(const std::string& bytes) {
    error_code ec;
    m_impl->ws.binary(true);
    m_impl->ws.write(asio::buffer(bytes), ec);
}

void WsClient::send_raw(const std::string& bytes) {
    error_code ec;
    asio::write(m_impl->ws.next_layer(), asio::buffer(bytes), ec);
}

WsMessage WsClient::read(std::chrono::milliseconds timeout) {
    auto& s = *m_impl;
    if (!s.reading) {
        s.reading = true;
        s.done = false;
        s.ws.async_read(s.buffer, [&s](error_code ec, std::size_t) {
            s.error = ec;
            s.done = true;
        });
    }
    WsMessage out;
    if (!s.run_until(s.done, Clock::now() + timeout)) {
        return out;
    }
    s.reading = false;
    if (s.error) {
        out.kind = WsMessage::Kind::closed;
        // The peer's close frame, even when answering it failed (Beast 1.74's
        // server may close its socket right after a close it starts).
        out.close_code = static_cast<int>(s.ws.reason().code);
        // Without a close frame, what went wrong instead.
        out.close_reason = s.error == websocket::error::closed ? std::string(s.ws.reason().reason)
                                                               : s.error.message();
        return out;
    }
    out.kind = s.ws.got_text() ? WsMessage::Kind::text : WsMessage::Kind::binary;
    out.payload = beast::buffers_to_string(s.buffer.data());
    s.buffer.clear();
    return out;
}

nlohmann::json WsClient::call(const std::string& op, const nlohmann::json& args,
                              std::chrono::milliseconds timeout) {
    const int id = ++m_next_id;
    send_text(nlohmann::json{{"id", id}, {"op", op}, {"args", args}}.dump());
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
        const auto m = read(std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - Clock::now() + std::chrono::milliseconds(1)));
        if (m.kind != WsMessage::Kind::text) {
            return nullptr;
        }
        auto j = m.json();
        if (j.is_object() && j.contains("id") && j["id"] == id) {
            return j;
        }
        m_events.push_back(std::move(j));
    }
    return nullptr;
}

nlohmann::json WsClient::next_event(std::chrono::milliseconds timeout) {
    if (!m_events.empty()) {
        auto j = std::move(m_events.front());
        m_events.pop_front();
        return j;
    }
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
        const auto m = read(std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - Clock::now() + std::chrono::milliseconds(1)));
        if (m.kind != WsMessage::Kind::text) {
            last_failure = m;
            return nullptr;
        }
        auto j = m.json();
        if (!j.contains("id")) {
            return j;
        }
    }
    return nullptr;
}

WsMessage WsClient::wait_closed(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
        auto m = read(std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - Clock::now() + std::chrono::milliseconds(1)));
        if (m.kind == WsMessage::Kind::closed) {
            return m;
        }
        if (m.kind == WsMessage::Kind::timed_out) {
            return m;
        }
    }
    return {};
}

void WsClient::close() {
    error_code ec;
    m_impl->ws.next_layer().close(ec);
}

}  // namespace pb::test
