#pragma once

#include <string_view>

#include "common/keys/service.hpp"
#include "common/ops/op.hpp"
#include "common/tokens/service.hpp"

namespace pb::admission {

// A credential that verified, before anything is spent on it: who is
// calling, and for an API key its check (the record; when the secret stops
// verifying by itself). Bans, limits and uses are the pipeline's later steps.
struct Credential {
    ops::Caller caller;
    keys::VerifyResult key;  // valid, with its record, for an API key; empty for a JWT
};

// The credential a request presents: `Authorization: Bearer <API key or JWT>`
// or `X-API-Key: pb_…` (given the two header values); empty when it presents
// none. Another Authorization scheme (Basic, …) carries none.
std::string_view presented(std::string_view authorization, std::string_view api_key);

// Verifies `text`, an API key or a JWT (one pb issued for pbd, or a trusted
// issuer's: tokens::credential_of decides), from the in-memory indexes,
// spending nothing, so a key or token withdrawn elsewhere is refused at once.
// Error(unauthenticated) with details.reason when it is missing or does not
// verify. Thread-safe.
Credential verify_credential(keys::KeyService& keys, tokens::TokenService& tokens,
                             std::string_view text);

}  // namespace pb::admission
