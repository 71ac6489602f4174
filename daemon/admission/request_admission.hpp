#pragma once
// The daemon's glue to the admission pipeline (common/admission): what an
// HTTP request tells it, and how its verdict is answered. Beast-free.

#include <string_view>
#include <vector>

#include "common/admission/pipeline.hpp"
#include "common/limits/limiter.hpp"
#include "daemon/admission/rate_limit_fields.hpp"
#include "daemon/http/request.hpp"

namespace pb::daemon {

// The facts of `request` for the pipeline at `door`: the peer, the proxy
// headers, the credential headers, and the credential verified ahead
// (Request::authenticated). The views are `request`'s.
admission::Facts facts_of(const Request& request, admission::Door door);

// The credential `request` presents (Authorization: Bearer, X-API-Key), or empty.
std::string_view presented_key(const Request& request);

// The limits that counted the request: its address's ("ip"), its caller's
// ("key" or "user"), then the named limits of its key or identity that
// enforce (shadow ones left out), each under its name; limit 0 for one that
// did not apply. The views are `verdict`'s.
std::vector<AppliedLimit> applied_limits(const admission::Verdict& verdict);

// Writes the verdict's RateLimit-Policy, RateLimit and Retry-After
// (rate_limit_fields.hpp). Nothing when no limit counted the request.
void add_rate_limit_fields(const admission::Verdict& verdict, Response& response);

// The verdict's refusal as the Error answered; a rate_limited one gains
// "violated-policies", the names of the policies that refused (RFC 9457's
// quota-exceeded problem, as the RateLimit draft defines it).
Error refusal_of(const admission::Verdict& verdict);

// Who answers a refusal at the permission step of an op.
enum class PermissionRefusal {
    thrown,      // enforce() throws it (/v1/auth, a WebSocket upgrade)
    dispatched,  // runtime::dispatch() refuses it too, and audits a refused mutating op
};

// Writes the verdict's RateLimit fields into `response`, then throws its
// refusal, if any, as the Error the caller answers (refusal_of) (403 banned, 429 rate_limited, 401
// unauthenticated, 403 permission_denied).
void enforce(const admission::Verdict& verdict, Response& response,
             PermissionRefusal permission = PermissionRefusal::thrown);

}  // namespace pb::daemon
