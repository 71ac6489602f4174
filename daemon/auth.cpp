#include "daemon/auth.hpp"

#include "common/core/error.hpp"
#include "common/tokens/grants.hpp"

namespace pb::daemon {
namespace {

// A JWT as the credential: one pb issued for pbd (permissions from its
// "permissions" list or "scope"), or a trusted issuer's (what it claims within
// that issuer's grants). tokens::credential_of decides which is which.
ops::Caller authenticate_jwt(Services& services, std::string_view token) {
    auto& tokens = services.tokens();
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

std::string_view presented_key(const Request& request) {
    const auto authorization = trim_ows(request.header("Authorization"));
    if (!authorization.empty()) {
        constexpr std::string_view k_scheme = "Bearer";
        if (authorization.size() > k_scheme.size() &&
            iequals(authorization.substr(0, k_scheme.size()), k_scheme) &&
            (authorization[k_scheme.size()] == ' ' || authorization[k_scheme.size()] == '\t')) {
            return trim_ows(authorization.substr(k_scheme.size()));
        }
        // Another scheme (Basic, …) carries no API key; X-API-Key may still.
    }
    return trim_ows(request.header("X-API-Key"));
}

Credential identify(Services& services, std::string_view key) {
    if (key.empty()) {
        throw Error(ErrorCode::unauthenticated,
                    "missing credential: send Authorization: Bearer <API key> or X-API-Key",
                    {{"reason", "missing"}});
    }
    if (!key.starts_with("pb_") && key.find('.') != std::string_view::npos) {
        return Credential{authenticate_jwt(services, key), {}};
    }
    auto result = services.keys().check(key);
    if (!result.valid) {
        throw Error(ErrorCode::unauthenticated, "API key is " + result.reason,
                    {{"reason", result.reason}});
    }
    const auto& k = *result.key;
    ops::Caller caller{"key:" + k.id, k.permissions, k.owner, k.id, k.rate_limit.value_or("")};
    return Credential{std::move(caller), std::move(result)};
}

Credential identify(Services& services, const Request& request) {
    if (request.authenticated != nullptr) {
        return *request.authenticated;
    }
    return identify(services, presented_key(request));
}

}  // namespace pb::daemon
