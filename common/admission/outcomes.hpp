#pragma once

#include <string_view>

#include "common/core/outcomes.hpp"

namespace pb::admission {

// keys.verify's answers in this process, by outcome: valid, or the reason
// (malformed, unknown, revoked, expired, exhausted, disabled, banned,
// rate_limited, other). pbd renders them as pb_key_verify_total.
Outcomes& key_verify_outcomes();

// What a credential presented to pbd (a route, /v1/auth, a WebSocket upgrade,
// authenticate or re-check, a socket's op) turned out to be at the credential
// step, by its kind: an API key's outcomes, a JWT's (valid or a token
// reason), or none sent ("missing"). pbd renders pb_credential_checks_total.
enum class CredentialKind { key, token, none };
Outcomes& credential_outcomes(CredentialKind kind);
// What `text` is taken for: none when empty, a JWT when it is not shaped like
// an API key and has a dot, else an API key (verify_credential's choice).
CredentialKind credential_kind(std::string_view text);
std::string_view to_string(CredentialKind kind);

}  // namespace pb::admission
