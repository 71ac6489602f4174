#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/core/clock.hpp"
#include "common/tokens/jose_key.hpp"
#include "common/tokens/json_scan.hpp"

namespace pb::tokens {

// Why a token was refused. Stable names (to_string) are part of the API.
enum class Reason {
    malformed,
    bad_signature,
    expired,
    not_yet_valid,
    wrong_audience,
    wrong_issuer,
    revoked,
    unknown_key,
    unsupported_alg,
    wrong_token_type,
};
std::string_view to_string(Reason reason);

// The registered claims verify needs, as slices of the claims text.
struct ClaimSlices {
    std::optional<JsonSlice> exp, nbf, iat, iss, aud, jti, fam, token_use;
};

// A JWS compact token split and decoded, not yet verified. The header and
// payload are kept as JSON text, checked strict (json_scan.hpp); a tree is
// built only when asked for. Not copyable: `registered` points into claims_text.
struct DecodedJwt {
    DecodedJwt() = default;
    DecodedJwt(const DecodedJwt&) = delete;
    DecodedJwt& operator=(const DecodedJwt&) = delete;

    std::string_view signing_input;  // "header.payload" of the token, which must outlive this
    std::string signature;
    std::string header_text;
    std::string claims_text;
    std::string alg;                 // the header's "alg"
    std::optional<std::string> kid;  // and "kid", when present
    ClaimSlices registered;

    nlohmann::json header() const;
    nlohmann::json claims() const;
};

// Why decoding failed, with a message for people.
struct Refusal {
    Reason reason;
    std::string message;
};

// Splits and decodes a compact JWS: three base64url parts, JSON objects with no
// duplicate members, header "alg" present, "kid" a string if present, no "crit"
// (RFC 7515 §4.1.11), at most `max_size` bytes.
std::optional<Refusal> decode_jwt(std::string_view token, std::size_t max_size, DecodedJwt& out);

// What to require of the claims besides the signature.
struct ClaimRules {
    UnixMillis now = 0;
    std::int64_t leeway_ms = 0;
    bool require_exp = true;
    std::optional<std::string> audience;  // must be in "aud" when set
    std::optional<std::string> issuer;    // must equal "iss" when set
};

// Checks exp (now must be before exp), nbf, iat, aud and iss (RFC 7519 §4.1).
std::optional<Refusal> check_claims(const ClaimSlices& claims, const ClaimRules& rules);

// Signs header and claims with `key` into a compact JWS; header "alg" is the key's.
std::string encode_jwt(nlohmann::json header, const nlohmann::json& claims, const JoseKey& key);

}  // namespace pb::tokens
