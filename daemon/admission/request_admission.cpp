#include "daemon/gate.hpp"

#include "common/core/error.hpp"
#include "common/limits/ban_service.hpp"
#include "common/limits/policy.hpp"
#include "common/limits/service.hpp"

namespace pb::daemon {
namespace {

// "203.0.113.7:5123", "[2001:db8::1]:443" -> the address part.
std::string_view host_of(std::string_view remote) {
    if (!remote.empty() && remote.front() == '[') {
        return remote.substr(1, remote.find(']') - 1);
    }
    const auto colon = remote.rfind(':');
    if (colon != std::string_view::npos && remote.find(':') == colon) {
        return remote.substr(0, colon);
    }
    return remote;
}

std::string seconds_up(std::int64_t ms) {
    return std::to_string((ms + 999) / 1000);
}

}  // namespace

Gate::Gate(Services& services, const std::string& trusted_proxies) : m_services(services) {
    std::string_view rest = trusted_proxies;
    while (!rest.empty()) {
        const auto comma = rest.find(',');
        const auto item = trim_ows(rest.substr(0, comma));
        if (!item.empty()) {
            m_trusted.push_back(limits::parse_cidr(item));
        }
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    }
    // Fail at start, not on the first request, when a bans/limits setting is bad.
    m_services.limits();
    m_services.bans().refresh();
}

std::optional<limits::IpAddress> Gate::client_address(const Request& request) const {
    auto peer = limits::parse_ip(host_of(request.remote));
    const auto trusted = [this](const limits::IpAddress& a) {
        for (const auto& r : m_trusted) {
            if (r.contains(a))
                return true;
        }
        return false;
    };
    if (!peer || !trusted(*peer)) {
        return peer;
    }
    // Walk X-Forwarded-For from the right: the first address a trusted proxy did
    // not add is the client (anything further left is the client's own claim).
    std::string_view xff = request.header("X-Forwarded-For");
    while (!xff.empty()) {
        const auto comma = xff.rfind(',');
        const auto item = trim_ows(comma == std::string_view::npos ? xff : xff.substr(comma + 1));
        xff = comma == std::string_view::npos ? std::string_view{} : xff.substr(0, comma);
        auto hop = limits::parse_ip(item);
        if (!hop) {
            return peer;  // garbage in the chain: trust only what we saw
        }
        peer = hop;
        if (!trusted(*hop)) {
            return hop;
        }
    }
    if (auto real = limits::parse_ip(trim_ows(request.header("X-Real-IP")))) {
        return real;
    }
    return peer;
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

void Gate::enforce(const limits::LimitResult& result, std::string_view what, Response& response) {
    add_rate_limit_headers(result, response);
    if (!result.allowed) {
        throw Error(ErrorCode::rate_limited, std::string(what) + " is over its rate limit",
                    result.to_json());
    }
}

void Gate::admit_address(const std::optional<limits::IpAddress>& client, Response& response,
                         limits::LimitUse use) {
    if (!client) {
        return;
    }
    auto& bans = m_services.bans();
    if (auto ban = bans.match_caller({.address = client})) {
        throw Error(ErrorCode::banned, "this address is banned",
                    ban->to_json(m_services.clock().now()));
    }
    if (!bans.allow_listed(*client)) {
        enforce(m_services.limits().check_address(*client, 1, use), "this address", response);
    }
}

std::vector<limits::RedisCall> Gate::redis_calls(const std::optional<limits::IpAddress>& client,
                                                 const Request* request,
                                                 std::optional<Credential>& authenticated) const {
    std::vector<limits::RedisCall> calls;
    auto& bans = m_services.bans();
    if (!client || bans.match_caller({.address = client}) || bans.allow_listed(*client)) {
        return calls;
    }
    auto& limits = m_services.limits();
    if (auto call = limits.address_call(*client)) {
        calls.push_back(std::move(*call));
    }
    if (request == nullptr) {
        return calls;
    }
    try {
        // As admit_caller() will decide; an authentication failure, a ban or
        // a bad id answers without a caller check.
        const auto& caller = authenticated.emplace(identify(m_services, *request)).caller;
        if (bans.match_caller(
                {.address = client, .user = caller.subject, .key_id = caller.key_id})) {
            return calls;
        }
        std::optional<limits::RedisCall> call;
        if (!caller.key_id.empty()) {
            const auto own = caller.key_rate_limit.empty()
                                 ? std::nullopt
                                 : limits::parse_rate_limit(caller.key_rate_limit, "rate_limit");
            call = limits.caller_call(limits::Scope::key, caller.key_id, own);
        } else if (!caller.subject.empty()) {
            call = limits.caller_call(limits::Scope::user,
                                      limits::canonical_id(limits::Scope::user, caller.subject),
                                      std::nullopt);
        }
        if (call) {
            calls.push_back(std::move(*call));
        }
    } catch (const Error&) {
    }
    return calls;
}

std::optional<std::int64_t> Gate::admit_caller(const std::optional<limits::IpAddress>& client,
                                               const Credential& credential, Response& response,
                                               limits::LimitUse use, keys::Count count) {
    auto& bans = m_services.bans();
    keys::AdmitOptions options{.client = client, .use = use, .count = count};
    if (client && bans.allow_listed(*client)) {
        options.exempt = keys::LimitExempt::yes;
    }
    const auto admission =
        keys::admit({m_services.keys(), bans, m_services.limits(), m_services.clock()},
                    keys::Presenter{credential.key, credential.caller.subject}, options);
    add_rate_limit_headers(admission.limit, response);
    if (admission.admitted) {
        return admission.remaining;
    }
    if (admission.reason == "banned") {
        throw Error(ErrorCode::banned, "this caller is banned",
                    admission.ban->to_json(m_services.clock().now()));
    }
    if (admission.reason == "rate_limited") {
        throw Error(ErrorCode::rate_limited,
                    admission.user_limit ? "this user is over its rate limit"
                                         : "this API key is over its rate limit",
                    admission.limit.to_json());
    }
    throw Error(ErrorCode::unauthenticated, "API key is " + admission.reason,
                {{"reason", admission.reason}});
}

}  // namespace pb::daemon
