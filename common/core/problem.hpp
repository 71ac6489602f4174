#pragma once
// RFC 9457 problem documents: the one shape of every HTTP error pbd answers
// (WebSocket error frames keep Error::to_json's shape: they are not HTTP).
//
//   {"type":"urn:pb:problem:not-found","title":"Not found","status":404,
//    "detail":"<the message>","code":"not_found", <the details, flattened>}
//
// `code` is the same word as in WebSocket frames and pbctl --output json;
// `type` is its kebab form, but for rate_limited, which is the RateLimit
// draft's "quota-exceeded" (draft-ietf-httpapi-ratelimit-headers-11).

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/core/error.hpp"

namespace pb {

inline constexpr std::string_view k_problem_content_type = "application/problem+json";

// "urn:pb:problem:<kebab code>" ("urn:pb:problem:quota-exceeded" for rate_limited).
std::string problem_type(ErrorCode code);
// A fixed short text per code ("Not found").
std::string_view problem_title(ErrorCode code);

// The problem document of `e` answered with HTTP `status`. Each detail
// becomes a top-level member; one named like a member of RFC 9457 or "code"
// stays under "details" instead, so nothing is lost or overwritten. The
// caller redacts `e` first (keys::redact_keys_error): nothing here hides.
nlohmann::json problem_document(const Error& e, int status);

// The Error a problem document tells (pbctl --server), or nullopt when
// `body` is no problem document of pb's (no string "code" and "detail").
std::optional<Error> error_from_problem(const nlohmann::json& body);

}  // namespace pb
