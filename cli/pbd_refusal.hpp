#pragma once
// What pbctl --server makes of pbd's refusals: the RFC 9457 problem document
// pbd sends for every HTTP error (an op's route, the WebSocket upgrade) back
// to the pb::Error it tells, so exit codes and messages are those of local
// mode; and, when pbctl sent no credential, advice on how pbctl finds one.

#include <optional>
#include <string_view>

#include "common/core/error.hpp"

namespace pb::cli {

// `e`, or, when pbctl sent no credential and pbd says one is missing
// (unauthenticated, reason "missing"), the same error whose message says how
// pbctl finds one (PB_API_KEY, cli.api_key, --api-key) instead of which HTTP
// header or WebSocket message pbd wanted.
Error with_credential_advice(Error e, bool sent_credential);

// The Error told by an HTTP error answer's `body` (with_credential_advice
// applied), or nullopt when it is no problem document of pb's.
std::optional<Error> refusal_of(std::string_view body, bool sent_credential);

}  // namespace pb::cli
