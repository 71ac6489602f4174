#include "common/admission/credential.hpp"

#include <optional>

#include "common/admission/outcomes.hpp"
#include "common/core/error.hpp"
#include "common/core/http_text.hpp"
#include "common/tokens/grants.hpp"

namespace pb::admission {
namespace {

// "Bearer", as HTTP compares auth schemes: ASCII, case-insensitively.
bool is_bearer(std::string_view scheme) {
    constexpr std::string_view k_bearer = "bearer";
    if (scheme.size() != k_bearer.size()) {
        return false;
    }
    for (std::size_t i = 0; i < scheme.size(); ++i) {
        const char c = scheme[i];
        if ((c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) != k_bearer[i]) {
            return false;
        }
    }
    return true;
}

// A JWT as the credential.
ops::Caller verify_jwt(tokens::TokenService& tokens, std::string_view token) {
    const auto check = tokens.verify(token, {});
    if (!check.valid) {
        throw Error(ErrorCode::unauthenticated,
                    "bearer token refused: " + std::string(tokens::to_string(check.reason)),
                    {{"reason", tokens::to_string(check.reason)}});
    }
    auto credential = tokens::credential_of(check, tokens.settings());
    return ops::Caller{"jwt:" + credential.subject, std::move(credential.permissions),
                       credential.subject, ""};
}

}  // namespace

std::string_view presented(std::string_view authorization, std::string_view api_key) {
    authorization = trim_ows(authorization);
    if (!authorization.empty()) {
        constexpr std::size_t k_scheme = 6;  // "Bearer"
        if (authorization.size() > k_scheme && is_bearer(authorization.substr(0, k_scheme)) &&
            (authorization[k_scheme] == ' ' || authorization[k_scheme] == '\t')) {
            return trim_ows(authorization.substr(k_scheme));
        }
        // Another scheme (Basic, …) carries no API key; X-API-Key may still.
    }
    return trim_ows(api_key);
}

Credential verify_credential(keys::KeyService& keys, tokens::TokenService& tokens,
                             std::string_view text) {
    if (text.empty()) {
        throw Error(ErrorCode::unauthenticated,
                    "missing credential: send Authorization: Bearer <API key> or X-API-Key",
                    {{"reason", "missing"}});
    }
    std::optional<keys::VerifyResult> checked;
    if (credential_kind(text) == CredentialKind::token) {
        try {
            return Credential{verify_jwt(tokens, text), {}};
        } catch (const Error&) {
            // Another system's key may hold a dot: once keys were imported,
            // a text refused as a token is tried as one of them (checked
            // once: a check may spend a use).
            if (!keys.has_imported_keys()) {
                throw;
            }
            auto r = keys.check(text);
            if (r.reason == "unknown" || r.reason == "malformed") {
                throw;  // no such key either: the token's refusal says more
            }
            checked = std::move(r);
        }
    }
    auto result = checked ? std::move(*checked) : keys.check(text);
    if (!result.valid) {
        throw Error(ErrorCode::unauthenticated, "API key is " + result.reason,
                    {{"reason", result.reason}});
    }
    const auto& k = *result.key;
    ops::Caller caller{"key:" + k.id, k.permissions, k.owner, k.id, k.rate_limit.value_or("")};
    return Credential{std::move(caller), std::move(result)};
}

}  // namespace pb::admission
