#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/ws_client.hpp"

namespace pb::test {

// What one read from a WebSocket gave.
struct WsMessage {
    using Kind = cli::WsMessage::Kind;
    Kind kind = Kind::timed_out;
    std::string payload;
    int close_code = 0;  // when closed: the peer's code, or 0 without a close frame
    // When closed: the peer's reason, or without a close frame what went wrong instead.
    std::string close_reason;

    nlohmann::json json() const { return nlohmann::json::parse(payload, nullptr, false); }
};

// pbctl's WebSocket client (cli/ws_client.hpp) as the daemon tests drive it:
// on loopback, every wait bounded, a failed upgrade a test failure. Events
// received while waiting for an answer are kept for next_event().
class WsClient {
  public:
    using Headers = std::vector<std::pair<std::string, std::string>>;

    // Connects to 127.0.0.1:port and upgrades on `path`; the test fails (and
    // ok() is false) when that does not work.
    explicit WsClient(int port, const Headers& headers = {}, const std::string& path = "/ws");

    bool ok() const { return m_ws->upgrade().ok; }

    // The HTTP status pbd answers an upgrade with (101 when accepted), and
    // the body of a refusal.
    static std::pair<int, std::string> try_upgrade(int port, const Headers& headers);

    void send_text(const std::string& text);
    void send_binary(const std::string& bytes);
    // Bytes written to the TCP stream as they are (to forge bad frames).
    void send_raw(const std::string& bytes);

    // The next message from the wire (events kept by call() are not in it).
    WsMessage read(std::chrono::milliseconds timeout = std::chrono::seconds(5));

    // Sends {"id","op","args"} and returns the answer with that id (null on a
    // timeout or close); other messages meanwhile are kept for next_event().
    nlohmann::json call(const std::string& op,
                        const nlohmann::json& args = nlohmann::json::object(),
                        std::chrono::milliseconds timeout = std::chrono::seconds(10));

    // The next message without an "id" (an event), or null on a timeout or close.
    nlohmann::json next_event(std::chrono::milliseconds timeout = std::chrono::seconds(5));

    // Reads until the connection closes; returns how it closed (kind closed,
    // or timed_out). Other messages are discarded.
    WsMessage wait_closed(std::chrono::milliseconds timeout = std::chrono::seconds(10));

    // Why the last call() or next_event() came back empty.
    WsMessage last_failure;

    // Stops reading (the socket's receive buffer stays as it is).
    void close();

  private:
    std::unique_ptr<cli::WsClient> m_ws;
    std::deque<nlohmann::json> m_events;
    int m_next_id = 1000;
};

}  // namespace pb::test
