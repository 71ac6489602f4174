#include "daemon/admission/request_admission.hpp"

#include <algorithm>

namespace pb::daemon {

admission::Facts facts_of(const Request& request, admission::Door door) {
    return admission::Facts{.door = door,
                            .peer = request.remote,
                            .forwarded_for = request.header("X-Forwarded-For"),
                            .real_ip = request.header("X-Real-IP"),
                            .authorization = request.header("Authorization"),
                            .api_key = request.header("X-API-Key"),
                            .verified = request.authenticated};
}

std::string_view presented_key(const Request& request) {
    return admission::presented(request.header("Authorization"), request.header("X-API-Key"));
}

std::vector<AppliedLimit> applied_limits(const admission::Verdict& verdict) {
    std::vector<AppliedLimit> out{
        AppliedLimit{"ip", verdict.address_limit},
        AppliedLimit{limits::to_string(verdict.caller_scope), verdict.caller_limit}};
    // A shadow limit never refuses: telling clients of it would announce a
    // quota that is not enforced (and a Retry-After on an admitted request).
    for (const auto& n : verdict.named) {
        if (!n.shadow) {
            out.push_back(AppliedLimit{n.name, n.result});
        }
    }
    return out;
}

void add_rate_limit_fields(const admission::Verdict& verdict, Response& response) {
    const auto applied = applied_limits(verdict);
    set_rate_limit_fields(applied, response);
}

Error refusal_of(const admission::Verdict& verdict) {
    const auto& e = *verdict.refusal;
    if (e.code() != ErrorCode::rate_limited) {
        return e;
    }
    auto details = e.details().is_object() ? e.details() : nlohmann::json::object();
    auto violated = nlohmann::json::array();
    for (const auto& a : applied_limits(verdict)) {
        if (a.result.limit > 0 && !a.result.allowed) {
            violated.push_back(a.name);
        }
    }
    // The named limit that refused (a key's or its identity's) is named even
    // when its decision carried no count.
    if (!verdict.refused_limit.empty() &&
        std::find(violated.begin(), violated.end(), verdict.refused_limit) == violated.end()) {
        violated.push_back(verdict.refused_limit);
    }
    details["violated-policies"] = std::move(violated);
    return Error(e.code(), e.what(), std::move(details));
}

void enforce(const admission::Verdict& verdict, Response& response, PermissionRefusal permission) {
    add_rate_limit_fields(verdict, response);
    if (verdict.admitted() || (verdict.step == admission::Step::permission &&
                               permission == PermissionRefusal::dispatched)) {
        return;
    }
    throw refusal_of(verdict);
}

}  // namespace pb::daemon
