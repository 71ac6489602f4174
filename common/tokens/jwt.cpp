#include "common/tokens/jwt.hpp"

#include <array>
#include <cmath>

#include "common/core/base64.hpp"
#include "common/core/json_parse.hpp"

namespace pb::tokens {
namespace {

using nlohmann::json;

constexpr std::array k_reason_names{
    "malformed",    "bad_signature", "expired",     "not_yet_valid",   "wrong_audience",
    "wrong_issuer", "revoked",       "unknown_key", "unsupported_alg", "wrong_token_type"};

std::optional<std::int64_t> numeric_date_ms(const std::optional<JsonSlice>& claim, bool& bad) {
    if (!claim) {
        return std::nullopt;
    }
    // Seconds from 1970 to the end of year 9999: beyond, the milliseconds would
    // not fit (1e300 overflowed into a past instant: "expired", not malformed).
    constexpr double k_max_numeric_date = 253402300799.0;
    const auto v = json_number_value(*claim);
    if (!v || *v < 0 || *v > k_max_numeric_date) {
        bad = true;
        return std::nullopt;
    }
    return static_cast<std::int64_t>(*v * 1000.0);
}

bool is_string_equal(const std::optional<JsonSlice>& claim, std::string_view want) {
    return claim && json_string_is(*claim, want);
}

// True when the member name as written spells `plain`. Names are almost always
// written plainly: bytes compare them, and only an escaped name is unescaped.
bool name_is(std::string_view raw, bool escaped, std::string_view plain) {
    return escaped ? json_string_equals(raw, plain) : raw == plain;
}

// The header members verify needs.
struct HeaderSink final : MemberSink {
    std::optional<JsonSlice> alg, kid;
    bool has_crit = false;
    void member(std::string_view raw, bool escaped, JsonSlice value) override {
        if (name_is(raw, escaped, "alg")) {
            alg = value.kind == JsonKind::string ? std::optional(value) : std::nullopt;
        } else if (name_is(raw, escaped, "kid")) {
            kid = value;
        } else if (name_is(raw, escaped, "crit")) {
            has_crit = true;
        }
    }
};

// The registered claims, read while the payload is checked.
struct ClaimSink final : MemberSink {
    explicit ClaimSink(ClaimSlices& out) : claims(out) {}
    ClaimSlices& claims;
    void member(std::string_view raw, bool escaped, JsonSlice value) override {
        using Field = std::optional<JsonSlice> ClaimSlices::*;
        static constexpr std::array<std::pair<std::string_view, Field>, 8> k_registered{{
            {"exp", &ClaimSlices::exp},
            {"nbf", &ClaimSlices::nbf},
            {"iat", &ClaimSlices::iat},
            {"iss", &ClaimSlices::iss},
            {"aud", &ClaimSlices::aud},
            {"jti", &ClaimSlices::jti},
            {"fam", &ClaimSlices::fam},
            {"token_use", &ClaimSlices::token_use},
        }};
        for (const auto& [name, field] : k_registered) {
            if (name_is(raw, escaped, name)) {
                claims.*field = value;
                return;
            }
        }
    }
};

}  // namespace

std::string_view to_string(Reason reason) {
    return k_reason_names[static_cast<std::size_t>(reason)];
}

std::optional<Refusal> decode_jwt(std::string_view token, std::size_t max_size, DecodedJwt& out) {
    if (token.size() > max_size) {
        // The one bound every surface applies (validation leaves tokens to it).
        return Refusal{Reason::malformed, "the token is larger than tokens.max_size (" +
                                              std::to_string(max_size) + " bytes)"};
    }
    const auto d1 = token.find('.');
    const auto d2 = d1 == std::string_view::npos ? d1 : token.find('.', d1 + 1);
    if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos) {
        return Refusal{Reason::malformed, "a JWS has three dot-separated parts"};
    }
    auto header = base64url_decode(token.substr(0, d1));
    auto payload = base64url_decode(token.substr(d1 + 1, d2 - d1 - 1));
    auto signature = base64url_decode(token.substr(d2 + 1));
    if (!header || !payload || !signature) {
        return Refusal{Reason::malformed, "a part is not base64url"};
    }
    // Parsed where they will live: the claim slices point into claims_text.
    out.header_text = std::move(*header);
    out.claims_text = std::move(*payload);
    // Duplicate member names are refused at any depth (RFC 7515 §5.2 allows
    // it): two readers picking different duplicates is how confusion attacks begin.
    HeaderSink h;
    if (!is_strict_object(out.header_text, &h)) {
        return Refusal{Reason::malformed, "the header is not a JSON object with unique members"};
    }
    ClaimSink c(out.registered);
    if (!is_strict_object(out.claims_text, &c)) {
        return Refusal{Reason::malformed, "the payload is not a JSON object with unique members"};
    }
    if (!h.alg) {
        return Refusal{Reason::malformed, "the header has no \"alg\""};
    }
    if (h.has_crit) {
        return Refusal{Reason::malformed, "critical header extensions are not supported"};
    }
    if (h.kid && h.kid->kind != JsonKind::string) {
        return Refusal{Reason::malformed, "kid must be a string"};
    }
    out.alg = json_string_value(*h.alg);
    if (h.kid) {
        out.kid = json_string_value(*h.kid);
    }
    out.signing_input = token.substr(0, d2);
    out.signature = std::move(*signature);
    return std::nullopt;
}

json DecodedJwt::header() const {
    return parse_json(header_text, "token header");
}

json DecodedJwt::claims() const {
    return parse_json(claims_text, "token payload");
}

std::optional<Refusal> check_claims(const ClaimSlices& claims, const ClaimRules& rules) {
    bool bad = false;
    const auto exp = numeric_date_ms(claims.exp, bad);
    const auto nbf = numeric_date_ms(claims.nbf, bad);
    const auto iat = numeric_date_ms(claims.iat, bad);
    if (bad) {
        return Refusal{Reason::malformed,
                       "exp, nbf and iat must be numbers of seconds from 1970 to 9999"};
    }
    if (!exp && rules.require_exp) {
        return Refusal{Reason::malformed, "the token has no \"exp\""};
    }
    if (exp && rules.now >= *exp + rules.leeway_ms) {
        return Refusal{Reason::expired, "the token expired"};
    }
    if (nbf && rules.now + rules.leeway_ms < *nbf) {
        return Refusal{Reason::not_yet_valid, "the token is not valid yet (nbf)"};
    }
    if (iat && rules.now + rules.leeway_ms < *iat) {
        return Refusal{Reason::not_yet_valid, "the token was issued in the future (iat)"};
    }
    if (rules.issuer && !is_string_equal(claims.iss, *rules.issuer)) {
        return Refusal{Reason::wrong_issuer, "the token's issuer is not " + *rules.issuer};
    }
    if (rules.audience) {
        bool found = is_string_equal(claims.aud, *rules.audience);
        if (claims.aud && claims.aud->kind == JsonKind::array) {
            for_each_element(*claims.aud, [&](JsonSlice a) {
                found = found || json_string_is(a, *rules.audience);
            });
        }
        if (!found) {
            return Refusal{Reason::wrong_audience, "the token is not meant for " + *rules.audience};
        }
    }
    return std::nullopt;
}

std::string encode_jwt(json header, const json& claims, const JoseKey& key) {
    header["alg"] = to_string(key.alg());
    std::string input = base64url_encode(header.dump()) + "." + base64url_encode(claims.dump());
    const auto sig = key.sign(input);
    return input + "." + base64url_encode(sig);
}

}  // namespace pb::tokens
