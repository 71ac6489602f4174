#pragma once

#include <chrono>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/ws_client.hpp"

namespace pb::cli {

// pbctl's WebSocket to pbd's /ws, for the streaming commands: the WsClient
// with pbd's refusals and a lost connection turned into pb::Error.
class PbdSocket {
  public:
    // Connects to `server` (http://host:port or ws://host:port) and upgrades on
    // /ws with `api_key` in the Authorization header. Error(unavailable) when
    // pbd cannot be reached within `timeout`; pbd's own error (unauthenticated,
    // banned, …) when it refuses the upgrade; Error(invalid_argument) for a
    // URL it cannot use (https: TLS is not supported by the streaming client).
    PbdSocket(const std::string& server, const std::string& api_key,
              std::chrono::milliseconds timeout);

    void send(const nlohmann::json& message);

    // The next message, or nullopt when `deadline` passes first (the read
    // stays pending for the next call). Error(unavailable) when the
    // connection closes, with pbd's close reason.
    std::optional<nlohmann::json> receive(WsClock::time_point deadline);

  private:
    WsClient m_ws;
};

}  // namespace pb::cli
