#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "common/ops/op.hpp"

namespace pb::cli {

// Sends one op to a pbd over HTTP(S) on the op's own route and returns its
// result. Errors come back as the daemon reported them (same codes as local
// mode); an unreachable daemon is Error(unavailable). The API key travels in the
// Authorization header and never appears in a message.
nlohmann::json call_remote(const std::string& server, const std::string& api_key,
                           std::int64_t timeout_ms, const ops::Op& op, const nlohmann::json& args);

}  // namespace pb::cli
