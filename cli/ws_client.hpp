#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace pb::cli {

// A WebSocket connection to pbd's /ws, for pbctl's streaming commands. Boost
// Beast stays inside ws_client.cpp. Blocking, one thread, with deadlines.
class WsClient {
  public:
    // Connects to `server` (http://host:port or ws://host:port) and upgrades on
    // /ws with `api_key` in the Authorization header. Error(unavailable) when
    // pbd cannot be reached within `timeout`; pbd's own error (unauthenticated,
    // banned, …) when it refuses the upgrade; Error(invalid_argument) for a
    // URL it cannot use (https: TLS is not supported by the streaming client).
    WsClient(const std::string& server, const std::string& api_key,
             std::chrono::milliseconds timeout);
    ~WsClient();
    WsClient(const WsClient&) = delete;
    WsClient& operator=(const WsClient&) = delete;

    void send(const nlohmann::json& message);

    // The next message, or nullopt when `deadline` passes first (the read
    // stays pending for the next call). Error(unavailable) when the
    // connection closes, with pbd's close reason.
    std::optional<nlohmann::json> receive(std::chrono::steady_clock::time_point deadline);

  private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

}  // namespace pb::cli
