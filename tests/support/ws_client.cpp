#include "tests/support/ws_client.hpp"

#include <gtest/gtest.h>

namespace pb::test {
namespace {

using Clock = std::chrono::steady_clock;

cli::WsTarget loopback(int port, const WsClient::Headers& headers, const std::string& path) {
    return {.host = "127.0.0.1",
            .port = std::to_string(port),
            .path = path,
            .headers = headers,
            .max_message = std::size_t{64} << 20};
}

std::unique_ptr<cli::WsClient> connect_loopback(int port, const WsClient::Headers& headers,
                                                const std::string& path) {
    return std::make_unique<cli::WsClient>(loopback(port, headers, path),
                                           Clock::now() + std::chrono::seconds(10));
}

std::chrono::milliseconds left(Clock::time_point deadline) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now() +
                                                                 std::chrono::milliseconds(1));
}

}  // namespace

WsClient::WsClient(int port, const Headers& headers, const std::string& path)
    : m_ws(connect_loopback(port, headers, path)) {
    const auto& upgrade = m_ws->upgrade();
    EXPECT_TRUE(upgrade.ok) << "WebSocket upgrade failed: " << upgrade.error << " (HTTP "
                            << upgrade.status << ": " << upgrade.body << ")";
}

std::pair<int, std::string> WsClient::try_upgrade(int port, const Headers& headers) {
    const auto ws = connect_loopback(port, headers, "/ws");
    return {ws->upgrade().status, ws->upgrade().body};
}

void WsClient::send_text(const std::string& text) {
    (void)m_ws->send_text(text);
}

void WsClient::send_binary(const std::string& bytes) {
    (void)m_ws->send_binary(bytes);
}

void WsClient::send_raw(const std::string& bytes) {
    (void)m_ws->send_raw(bytes);
}

WsMessage WsClient::read(std::chrono::milliseconds timeout) {
    auto m = m_ws->read(Clock::now() + timeout);
    return {.kind = m.kind,
            .payload = std::move(m.payload),
            .close_code = m.close_code,
            .close_reason = m.error.empty() ? std::move(m.close_reason) : std::move(m.error)};
}

nlohmann::json WsClient::call(const std::string& op, const nlohmann::json& args,
                              std::chrono::milliseconds timeout) {
    const int id = ++m_next_id;
    send_text(nlohmann::json{{"id", id}, {"op", op}, {"args", args}}.dump());
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
        const auto m = read(left(deadline));
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
        const auto m = read(left(deadline));
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
        auto m = read(left(deadline));
        if (m.kind == WsMessage::Kind::closed || m.kind == WsMessage::Kind::timed_out) {
            return m;
        }
    }
    return {};
}

void WsClient::close() {
    m_ws->close();
}

}  // namespace pb::test
