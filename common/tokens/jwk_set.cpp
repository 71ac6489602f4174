#include "common/tokens/jwk_set.hpp"

#include <array>
#include <set>

#include "common/core/error.hpp"

namespace pb::tokens {
namespace {

using nlohmann::json;

// JWK members that only a private key has (RFC 7518 §6.2.2, §6.3.2; RFC 8037 §2).
constexpr std::array k_private_members{"d", "p", "q", "dp", "dq", "qi", "oth"};

[[noreturn]] void bad(const std::string& why) {
    throw Error(ErrorCode::invalid_argument, "JWKS: " + why);
}

}  // namespace

std::vector<IssuerKey> parse_jwk_set(const json& doc, KeySource source) {
    if (!doc.is_object()) {
        bad("expected a JWK or a JWKS object");
    }
    std::vector<const json*> members;
    if (doc.contains("keys")) {
        if (!doc["keys"].is_array()) {
            bad("\"keys\" must be an array");
        }
        if (doc["keys"].size() > k_max_jwks_keys) {
            bad("more than " + std::to_string(k_max_jwks_keys) + " keys");
        }
        for (const auto& k : doc["keys"]) {
            members.push_back(&k);
        }
    } else {
        members.push_back(&doc);
    }
    std::vector<IssuerKey> out;
    std::set<std::string> kids;
    for (std::size_t i = 0; i < members.size(); ++i) {
        const auto& jwk = *members[i];
        const auto label = "key " + std::to_string(i + 1);
        if (!jwk.is_object()) {
            bad(label + " is not an object");
        }
        if (jwk.contains("use") && jwk["use"] == "enc") {
            continue;  // an encryption key published beside the signing keys
        }
        IssuerKey k;
        if (jwk.contains("kid")) {
            if (!jwk["kid"].is_string() || jwk["kid"].get_ref<const std::string&>().empty() ||
                jwk["kid"].get_ref<const std::string&>().size() > 200) {
                bad(label + ": kid must be a string of 1 to 200 characters");
            }
            k.kid = jwk["kid"].get<std::string>();
            if (!kids.insert(*k.kid).second) {
                bad("two keys have the kid \"" + *k.kid + "\"");
            }
        }
        const auto name = k.kid ? "key \"" + *k.kid + "\"" : label;
        const bool secret = jwk.value("kty", json()) == "oct";
        if (secret && source == KeySource::fetched) {
            bad(name + " is an HMAC secret: a published key set holds public keys only");
        }
        if (!secret) {
            for (const auto* member : k_private_members) {
                if (jwk.contains(member)) {
                    bad(name + " holds a private key: give only its public half");
                }
            }
        }
        try {
            k.key = std::make_shared<const JoseKey>(JoseKey::from_jwk(jwk));
        } catch (const Error& e) {
            bad(name + ": " + e.what());
        }
        out.push_back(std::move(k));
    }
    if (out.empty()) {
        bad("holds no signing key");
    }
    return out;
}

json public_jwks(const std::vector<IssuerKey>& keys) {
    json out = json::array();
    for (const auto& k : keys) {
        if (!is_hmac(k.key->alg())) {
            out.push_back(k.key->public_jwk(k.kid.value_or("")));
            if (!k.kid) {
                out.back().erase("kid");
            }
        }
    }
    return {{"keys", out}};
}

bool holds_secret(const std::vector<IssuerKey>& keys) {
    for (const auto& k : keys) {
        if (is_hmac(k.key->alg())) {
            return true;
        }
    }
    return false;
}

}  // namespace pb::tokens
