#pragma once
// What pbctl --server makes of pbd's error answers (HTTP and the WebSocket
// upgrade alike): the RFC 9457 problem document pbd sends for every error,
// back to the pb::Error it tells, so exit codes and messages are those of
// local mode.

#include <optional>
#include <string_view>

#include "common/core/error.hpp"

namespace pb::cli {

// The Error told by an error answer's `body`, or nullopt when it is no problem
// document of pb's. When pbctl sent no credential and pbd says one is
// missing, the message says how pbctl finds one (PB_API_KEY, cli.api_key,
// --api-key) instead of which HTTP header to send.
std::optional<Error> refusal_of(std::string_view body, bool sent_credential);

}  // namespace pb::cli
