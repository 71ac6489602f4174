#pragma once
// The RateLimit header fields of draft-ietf-httpapi-ratelimit-headers-11, as
// Structured Field lists (RFC 8941): ONE RateLimit-Policy listing every
// policy that counted the request, ONE RateLimit for the most restrictive,
// and Retry-After when a policy refused. Beast-free.
//
//   RateLimit-Policy: "ip";q=100;w=60, "key";q=10;w=1
//   RateLimit: "key";r=0;t=1
//   Retry-After: 1
//
// No `pk` (partition key): the partition is a client address, a user or a key
// id, and a hash of an address is no secret (IPv4 is 2^32 guesses), so any
// stable byte sequence would identify the caller to whoever reads the answer.

#include <span>
#include <string>
#include <string_view>

#include "common/limits/limiter.hpp"
#include "daemon/http/request.hpp"

namespace pb::daemon {

// One limit that counted a request: its policy's name (the scope: "ip",
// "user", "key") and the decision.
struct AppliedLimit {
    std::string_view name;
    limits::LimitResult result;
};

// `RateLimit-Policy` for `applied` ("ip";q=100;w=60, …), skipping the
// uncounted ones (limit 0); empty when none counted.
std::string rate_limit_policy_field(std::span<const AppliedLimit> applied);

// The most restrictive of the counted limits: a refusing one first, then the
// least remaining, then the longest until reset; nullptr when none counted.
const AppliedLimit* most_restrictive(std::span<const AppliedLimit> applied);

// `RateLimit` for one limit: "key";r=0;t=1 (t: seconds until its whole quota
// is back, rounded up).
std::string rate_limit_field(const AppliedLimit& limit);

// Replaces any RateLimit-Policy, RateLimit and Retry-After of `response` with
// those of `applied`; Retry-After (seconds, rounded up) when the most
// restrictive refused with a retry time.
void set_rate_limit_fields(std::span<const AppliedLimit> applied, Response& response);

}  // namespace pb::daemon
