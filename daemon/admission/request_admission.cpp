#include "daemon/admission/request_admission.hpp"

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

std::array<AppliedLimit, 2> applied_limits(const admission::Verdict& verdict) {
    return {AppliedLimit{"ip", verdict.address_limit},
            AppliedLimit{limits::to_string(verdict.caller_scope), verdict.caller_limit}};
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
    if (!verdict.refused_limit.empty()) {
        violated.push_back(verdict.refused_limit);  // a key's or identity's named limit
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
