#include "cli/pbd_socket.hpp"

#include "cli/pbd_refusal.hpp"
#include "common/core/error.hpp"
#include "common/core/json_parse.hpp"

namespace pb::cli {
namespace {

// Where --server points, for the WebSocket upgrade on /ws.
WsTarget target_of(const std::string& server, const std::string& api_key) {
    std::string_view rest = server;
    std::string_view default_port = "80";
    if (rest.starts_with("http://")) {
        rest.remove_prefix(7);
    } else if (rest.starts_with("ws://")) {
        rest.remove_prefix(5);
    } else if (rest.starts_with("https://") || rest.starts_with("wss://")) {
        throw Error(ErrorCode::invalid_argument,
                    "--server: streaming commands reach pbd over plain http:// or ws:// only (no "
                    "TLS in pbctl's WebSocket client yet): " +
                        server);
    } else {
        throw Error(ErrorCode::invalid_argument, "--server: not an http:// URL: " + server);
    }
    rest = rest.substr(0, rest.find('/'));
    WsTarget out;
    if (rest.starts_with('[')) {
        const auto close = rest.find(']');
        out.host = std::string(rest.substr(1, close - 1));
        rest.remove_prefix(close == std::string_view::npos ? rest.size() : close + 1);
        out.port = rest.starts_with(':') ? std::string(rest.substr(1)) : std::string(default_port);
    } else {
        const auto colon = rest.rfind(':');
        out.host = std::string(rest.substr(0, colon));
        out.port = colon == std::string_view::npos ? std::string(default_port)
                                                   : std::string(rest.substr(colon + 1));
    }
    if (out.host.empty() || out.port.empty()) {
        throw Error(ErrorCode::invalid_argument, "--server: no host or port in " + server);
    }
    out.headers.emplace_back("User-Agent", "pbctl");
    if (!api_key.empty()) {
        out.headers.emplace_back("Authorization", "Bearer " + api_key);
    }
    return out;
}

Error lost(const std::string& why, const nlohmann::json& details = nlohmann::json::object()) {
    return Error(ErrorCode::unavailable, "lost the connection to pbd: " + why, details);
}

}  // namespace

PbdSocket::PbdSocket(const std::string& server, const std::string& api_key,
                     std::chrono::milliseconds timeout)
    : m_ws(target_of(server, api_key), WsClock::now() + timeout) {
    const auto& upgrade = m_ws.upgrade();
    if (upgrade.ok) {
        return;
    }
    if (upgrade.declined) {
        if (auto refusal = refusal_of(upgrade.body, !api_key.empty())) {
            throw std::move(*refusal);
        }
        throw Error(ErrorCode::unavailable, "cannot reach pbd at " + server +
                                                ": the WebSocket upgrade was refused with HTTP " +
                                                std::to_string(upgrade.status));
    }
    throw Error(ErrorCode::unavailable, "cannot reach pbd at " + server + ": " + upgrade.error);
}

void PbdSocket::send(const nlohmann::json& message) {
    if (const auto failed = m_ws.send_text(message.dump()); !failed.empty()) {
        throw lost(failed);
    }
}

std::optional<nlohmann::json> PbdSocket::receive(WsClock::time_point deadline) {
    const auto m = m_ws.read(deadline);
    if (m.kind == WsMessage::Kind::timed_out) {
        return std::nullopt;
    }
    if (m.kind == WsMessage::Kind::closed) {
        const auto why = m.error.empty()
                             ? "pbd closed the connection (" + std::to_string(m.close_code) +
                                   (m.close_reason.empty() ? std::string() : " " + m.close_reason) +
                                   ")"
                             : m.error;
        throw lost(why, {{"close_code", m.close_code}});
    }
    auto message = parse_json_or_discarded(m.payload, {k_max_stored_json_depth});
    if (message.is_discarded()) {
        throw Error(ErrorCode::internal, "pbd sent a WebSocket message that is not JSON");
    }
    return message;
}

}  // namespace pb::cli
