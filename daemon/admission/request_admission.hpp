#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/keys/admission.hpp"
#include "common/limits/cidr.hpp"
#include "common/limits/limiter.hpp"
#include "common/limits/service.hpp"
#include "common/ops/op.hpp"
#include "common/runtime/services.hpp"
#include "daemon/auth.hpp"
#include "daemon/request.hpp"

namespace pb::daemon {

// Writes RateLimit-Limit/Remaining/Reset for a limited decision, and
// Retry-After when it was denied. Nothing for an unlimited scope (limit 0).
void add_rate_limit_headers(const limits::LimitResult& result, Response& response);

// Bans and rate limits applied to pbd's own callers, before any op runs, and
// the decision behind GET /v1/auth. Beast-free. Thread-safe.
class Gate {
  public:
    // `trusted_proxies` is server.trusted_proxies (comma-separated ranges);
    // Error(invalid_argument) when it does not parse.
    Gate(Services& services, const std::string& trusted_proxies);

    // The client's address: the peer, or, when the peer is a trusted proxy, the
    // nearest untrusted address of X-Forwarded-For (else X-Real-IP).
    std::optional<limits::IpAddress> client_address(const Request& request) const;

    // Refuses a banned address (Error banned, 403) or one over its rate limit
    // (Error rate_limited, 429, with Retry-After and RateLimit-* headers added
    // to `response`). Addresses on the bans.allow list are not rate limited:
    // they are the operator's own services and proxies.
    // `use` picks the policy when Redis-backed limits cannot be checked:
    // decision for GET /v1/auth, api for pbd's own routes.
    void admit_address(const std::optional<limits::IpAddress>& client, Response& response,
                       limits::LimitUse use = limits::LimitUse::api);

    // The admission of a caller whose credential verified (identify()), the
    // one keys.verify makes too (keys::admit): refuses a caller whose key,
    // owner, subject or address is banned (Error banned), one over its key's
    // or user's rate limit (Error rate_limited, with Retry-After and
    // RateLimit-* headers added to `response`), and a key with no use left
    // (Error unauthenticated, reason exhausted); else spends one use of a key
    // that counts them. Nothing is spent on a refused caller. A client on
    // bans.allow is not rate limited. With Count::no (a WebSocket session's
    // re-check) only the ban is checked and nothing is counted or spent.
    // Returns the key's uses left after this one (nullopt: not counted).
    std::optional<std::int64_t> admit_caller(const std::optional<limits::IpAddress>& client,
                                             const Credential& credential, Response& response,
                                             limits::LimitUse use = limits::LimitUse::api,
                                             keys::Count count = keys::Count::yes);

    // The Redis checks admit_address() (and admit_caller() for the caller
    // `request` authenticates as, when given) will make: none for a banned or
    // allow-listed client, a caller that does not authenticate, or without
    // Redis. For the transport to make them first without blocking.
    // The credential `request` presents goes to `caller`, verified (so that
    // it is verified once: see Request::authenticated).
    std::vector<limits::RedisCall> redis_calls(const std::optional<limits::IpAddress>& client,
                                               const Request* request,
                                               std::optional<Credential>& caller) const;

  private:
    void enforce(const limits::LimitResult& result, std::string_view what, Response& response);

    Services& m_services;
    std::vector<limits::IpRange> m_trusted;
};

}  // namespace pb::daemon
