#include "common/tokens/grants.hpp"

#include <algorithm>

#include "common/core/error.hpp"
#include "common/ops/op.hpp"

namespace pb::tokens {
namespace {

using nlohmann::json;

std::vector<std::string> scope_words(std::string_view rest) {
    std::vector<std::string> out;
    while (!rest.empty()) {
        const auto space = rest.find(' ');
        if (space != 0) {
            out.emplace_back(rest.substr(0, space));
        }
        rest = space == std::string_view::npos ? std::string_view{} : rest.substr(space + 1);
    }
    return out;
}

bool names_audience(const json& claims, const std::string& audience) {
    const auto aud = claims.find("aud");
    if (aud == claims.end()) {
        return true;
    }
    if (aud->is_string()) {
        return *aud == audience;
    }
    return aud->is_array() && std::find(aud->begin(), aud->end(), json(audience)) != aud->end();
}

}  // namespace

std::vector<std::string> claimed_permissions(const json& claims) {
    std::vector<std::string> out;
    if (auto p = claims.find("permissions"); p != claims.end() && p->is_array()) {
        for (const auto& v : *p) {
            if (v.is_string()) {
                out.push_back(v.get<std::string>());
            }
        }
    } else if (auto sc = claims.find("scope"); sc != claims.end() && sc->is_string()) {
        out = scope_words(sc->get_ref<const std::string&>());
    }
    return out;
}

std::vector<std::string> within_ceiling(const std::vector<std::string>& claimed,
                                        const std::vector<std::string>& ceiling) {
    std::vector<std::string> out;
    for (const auto& p : claimed) {
        const bool everything = p == "admin" || p == "*";
        const bool kept = everything ? std::find(ceiling.begin(), ceiling.end(), p) != ceiling.end()
                                     : ops::has_permission(ceiling, p);
        if (kept && std::find(out.begin(), out.end(), p) == out.end()) {
            out.push_back(p);
        }
    }
    return out;
}

void require_within(const json& claims, const std::vector<std::string>& holder) {
    std::vector<std::string> asked;
    if (auto p = claims.find("permissions"); p != claims.end()) {
        if (!p->is_array() ||
            !std::all_of(p->begin(), p->end(), [](const json& v) { return v.is_string(); })) {
            throw Error(ErrorCode::invalid_argument,
                        "claim \"permissions\" must be a list of strings",
                        {{"claim", "permissions"}});
        }
        asked = p->get<std::vector<std::string>>();
    }
    if (auto sc = claims.find("scope"); sc != claims.end()) {
        if (!sc->is_string()) {
            throw Error(ErrorCode::invalid_argument, "claim \"scope\" must be a string",
                        {{"claim", "scope"}});
        }
        for (auto& w : scope_words(sc->get_ref<const std::string&>())) {
            asked.push_back(std::move(w));
        }
    }
    for (const auto& p : asked) {
        if (!ops::has_permission(holder, p)) {
            throw Error(ErrorCode::permission_denied,
                        "a token cannot carry the permission \"" + p +
                            "\": the caller that issues it does not hold it",
                        {{"permission", p}});
        }
    }
}

Credential credential_of(const TokenCheck& check, const TokenSettings& settings) {
    const auto& claims = check.claims();
    const auto sub = claims.value("sub", std::string("?"));
    if (check.issuer) {
        return {within_ceiling(claimed_permissions(claims), check.issuer->grants),
                check.issuer->name + ":" + sub};
    }
    if (!names_audience(claims, settings.daemon_audience)) {
        throw Error(ErrorCode::unauthenticated,
                    "bearer token refused: it was issued for another audience than pbd's (" +
                        settings.daemon_audience + ")",
                    {{"reason", "wrong_audience"}});
    }
    return {claimed_permissions(claims), sub};
}

}  // namespace pb::tokens
