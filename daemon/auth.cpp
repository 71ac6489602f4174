#include "daemon/auth.hpp"

#include "common/core/error.hpp"

namespace pb::daemon {
namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

}  // namespace

std::string_view presented_key(const Request& request) {
    const auto authorization = trim(request.header("Authorization"));
    if (!authorization.empty()) {
        constexpr std::string_view k_scheme = "Bearer";
        if (authorization.size() > k_scheme.size() &&
            iequals(authorization.substr(0, k_scheme.size()), k_scheme) &&
            (authorization[k_scheme.size()] == ' ' || authorization[k_scheme.size()] == '\t')) {
            return trim(authorization.substr(k_scheme.size()));
        }
        // Another scheme (Basic, …) carries no API key; X-API-Key may still.
    }
    return trim(request.header("X-API-Key"));
}

ops::Caller authenticate(Services& services, const Request& request) {
    const auto key = presented_key(request);
    if (key.empty()) {
        throw Error(ErrorCode::unauthenticated,
                    "missing credential: send Authorization: Bearer <API key> or X-API-Key",
                    {{"reason", "missing"}});
    }
    auto result = services.keys().verify(key);
    if (!result.valid) {
        throw Error(ErrorCode::unauthenticated, "API key is " + result.reason,
                    {{"reason", result.reason}});
    }
    return ops::Caller{"key:" + result.key->id, result.key->permissions};
}

}  // namespace pb::daemon
