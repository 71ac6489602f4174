#include "daemon/admission/request_admission.hpp"

namespace pb::daemon {
namespace {

std::string seconds_up(std::int64_t ms) {
    return std::to_string((ms + 999) / 1000);
}

}  // namespace

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

void add_rate_limit_headers(const limits::LimitResult& result, Response& response) {
    if (result.limit <= 0) {
        return;
    }
    response.headers.emplace_back("RateLimit-Limit", std::to_string(result.limit));
    response.headers.emplace_back("RateLimit-Remaining", std::to_string(result.remaining));
    response.headers.emplace_back("RateLimit-Reset", seconds_up(result.reset_after_ms));
    if (!result.allowed) {
        response.headers.emplace_back("Retry-After", seconds_up(result.retry_after_ms));
    }
}

void enforce(const admission::Verdict& verdict, Response& response, PermissionRefusal permission) {
    add_rate_limit_headers(verdict.address_limit, response);
    add_rate_limit_headers(verdict.caller_limit, response);
    if (verdict.admitted() || (verdict.step == admission::Step::permission &&
                               permission == PermissionRefusal::dispatched)) {
        return;
    }
    throw *verdict.refusal;
}

}  // namespace pb::daemon
