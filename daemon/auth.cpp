#include "daemon/auth.hpp"

#include "common/core/error.hpp"

namespace pb::daemon {
namespace {

// A JWT pb issued (or from an imported issuer) as the credential: the
// permissions come from its "permissions" claim (a list) or "scope" (OAuth 2,
// space-separated).
ops::Caller authenticate_jwt(Services& services, std::string_view token) {
    const auto check = services.tokens().verify(token, {});
    if (!check.valid) {
        throw Error(ErrorCode::unauthenticated,
                    "bearer token refused: " + std::string(tokens::to_string(check.reason)),
                    {{"reason", tokens::to_string(check.reason)}});
    }
    std::vector<std::string> permissions;
    if (auto p = check.claims().find("permissions"); p != check.claims().end() && p->is_array()) {
        for (const auto& v : *p) {
            if (v.is_string()) {
                permissions.push_back(v.get<std::string>());
            }
        }
    } else if (auto sc = check.claims().find("scope");
               sc != check.claims().end() && sc->is_string()) {
        std::string_view rest = sc->get_ref<const std::string&>();
        while (!rest.empty()) {
            const auto space = rest.find(' ');
            if (space != 0) {
                permissions.emplace_back(rest.substr(0, space));
            }
            rest = space == std::string_view::npos ? std::string_view{} : rest.substr(space + 1);
        }
    }
    const auto sub = check.claims().value("sub", std::string("?"));
    return ops::Caller{"jwt:" + sub, permissions, sub, ""};
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
