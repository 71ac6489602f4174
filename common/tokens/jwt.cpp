#include "common/tokens/jwt.hpp"

#include <array>
#include <cmath>
#include <set>

#include "common/core/base64.hpp"

namespace pb::tokens {
namespace {

using nlohmann::json;

constexpr std::array k_reason_names{
    "malformed",    "bad_signature", "expired",     "not_yet_valid",   "wrong_audience",
    "wrong_issuer", "revoked",       "unknown_key", "unsupported_alg", "wrong_token_type"};

// Members written in the text: the colons outside strings (JSON has no other).
std::size_t members_in_text(std::string_view text) {
    std::size_t n = 0;
    bool in_string = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (c == '\\') {
                ++i;
            } else if (c == '"') {
                in_string = false;
            }
        } else if (c == '"') {
            in_string = true;
        } else if (c == ':') {
            ++n;
        }
    }
    return n;
}

// Members kept after parsing, at every depth.
std::size_t members_parsed(const json& j) {
    std::size_t n = 0;
    if (j.is_object()) {
        n += j.size();
        for (const auto& [k, v] : j.items()) {
            n += members_parsed(v);
        }
    } else if (j.is_array()) {
        for (const auto& v : j) {
            n += members_parsed(v);
        }
    }
    return n;
}

// Parses a JSON object, refusing duplicate member names at any depth (RFC 7515
// §5.2 lets a parser reject them; two readers picking different duplicates is
// how confusion attacks begin). A parser keeps one member per name, so a
// duplicate shows as fewer members parsed than written; counting is far
// cheaper than tracking names during the parse.
std::optional<json> parse_object_strict(std::string_view text) {
    auto j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object() || members_parsed(j) != members_in_text(text)) {
        return std::nullopt;
    }
    return j;
}

std::optional<std::int64_t> numeric_date_ms(const json& claims, const char* name, bool& bad) {
    if (!claims.contains(name)) {
        return std::nullopt;
    }
    const auto& v = claims[name];
    if (!v.is_number() || (v.is_number_float() && !std::isfinite(v.get<double>()))) {
        bad = true;
        return std::nullopt;
    }
    return static_cast<std::int64_t>(v.get<double>() * 1000.0);
}

}  // namespace

std::string_view to_string(Reason reason) {
    return k_reason_names[static_cast<std::size_t>(reason)];
}

std::optional<Refusal> decode_jwt(std::string_view token, std::size_t max_size, DecodedJwt& out) {
    if (token.size() > max_size) {
        return Refusal{Reason::malformed,
                       "token is larger than " + std::to_string(max_size) + " bytes"};
    }
    const auto d1 = token.find('.');
    const auto d2 = d1 == std::string_view::npos ? d1 : token.find('.', d1 + 1);
    if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos) {
        return Refusal{Reason::malformed, "a JWS has three dot-separated parts"};
    }
    const auto header = base64url_decode(token.substr(0, d1));
    const auto payload = base64url_decode(token.substr(d1 + 1, d2 - d1 - 1));
    auto signature = base64url_decode(token.substr(d2 + 1));
    if (!header || !payload || !signature) {
        return Refusal{Reason::malformed, "a part is not base64url"};
    }
    auto h = parse_object_strict(*header);
    if (!h) {
        return Refusal{Reason::malformed, "the header is not a JSON object with unique members"};
    }
    auto c = parse_object_strict(*payload);
    if (!c) {
        return Refusal{Reason::malformed, "the payload is not a JSON object with unique members"};
    }
    if (!h->contains("alg") || !(*h)["alg"].is_string()) {
        return Refusal{Reason::malformed, "the header has no \"alg\""};
    }
    if (h->contains("crit")) {
        return Refusal{Reason::malformed, "critical header extensions are not supported"};
    }
    out.signing_input.assign(token.substr(0, d2));
    out.signature = std::move(*signature);
    out.header = std::move(*h);
    out.claims = std::move(*c);
    return std::nullopt;
}

std::optional<Refusal> check_claims(const json& claims, const ClaimRules& rules) {
    bool bad = false;
    const auto exp = numeric_date_ms(claims, "exp", bad);
    const auto nbf = numeric_date_ms(claims, "nbf", bad);
    const auto iat = numeric_date_ms(claims, "iat", bad);
    if (bad) {
        return Refusal{Reason::malformed, "exp, nbf and iat must be numbers"};
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
    if (rules.issuer) {
        if (!claims.contains("iss") || claims["iss"] != *rules.issuer) {
            return Refusal{Reason::wrong_issuer, "the token's issuer is not " + *rules.issuer};
        }
    }
    if (rules.audience) {
        bool found = false;
        if (claims.contains("aud")) {
            const auto& aud = claims["aud"];
            if (aud.is_string()) {
                found = aud == *rules.audience;
            } else if (aud.is_array()) {
                for (const auto& a : aud) {
                    found = found || a == *rules.audience;
                }
            }
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
