#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/tokens/jose_key.hpp"

namespace pb::tokens {

// One verification key of a trusted issuer: its kid (optional in a JWK) and the
// key, whose algorithm is fixed when it is read (RFC 8725 §3.1).
struct IssuerKey {
    std::optional<std::string> kid;
    std::shared_ptr<const JoseKey> key;
};

// Where a key set comes from: an operator's file may hold a shared HMAC secret
// (kty "oct"); a document fetched from a URL is public and may not.
enum class KeySource { operator_file, fetched };

// Bounds on a key set: a document larger or with more keys is refused whole.
inline constexpr std::size_t k_max_jwks_bytes = 64 * 1024;
inline constexpr std::size_t k_max_jwks_keys = 32;

// Reads a JWK or a JWKS ({"keys": [...]}) into verification keys. Keys marked
// "use":"enc" are skipped. Error(invalid_argument), naming the key, for a
// document that is not a JWK or JWKS, holds more than k_max_jwks_keys keys,
// a key pb cannot read, a private part of an asymmetric key (give only the
// public half), an HMAC secret from a URL, two keys with one kid, or no key
// at all: a bad document is refused whole, never in part.
std::vector<IssuerKey> parse_jwk_set(const nlohmann::json& doc, KeySource source);

// The public JWKS of `keys` (HMAC keys are left out: they have no public half).
nlohmann::json public_jwks(const std::vector<IssuerKey>& keys);

// True when one of `keys` is an HMAC secret.
bool holds_secret(const std::vector<IssuerKey>& keys);

}  // namespace pb::tokens
