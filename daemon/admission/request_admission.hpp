#pragma once
// The daemon's glue to the admission pipeline (common/admission): what an
// HTTP request tells it, and how its verdict is answered. Beast-free.

#include <string_view>

#include "common/admission/pipeline.hpp"
#include "common/limits/limiter.hpp"
#include "daemon/http/request.hpp"

namespace pb::daemon {

// The facts of `request` for the pipeline at `door`: the peer, the proxy
// headers, the credential headers, and the credential verified ahead
// (Request::authenticated). The views are `request`'s.
admission::Facts facts_of(const Request& request, admission::Door door);

// The credential `request` presents (Authorization: Bearer, X-API-Key), or empty.
std::string_view presented_key(const Request& request);

// Writes RateLimit-Limit/Remaining/Reset for a limited decision, and
// Retry-After when it was denied. Nothing for an unlimited scope (limit 0).
void add_rate_limit_headers(const limits::LimitResult& result, Response& response);

// Who answers a refusal at the permission step of an op.
enum class PermissionRefusal {
    thrown,      // enforce() throws it (/v1/auth, a WebSocket upgrade)
    dispatched,  // runtime::dispatch() refuses it too, and audits a refused mutating op
};

// Writes the verdict's RateLimit headers (its address's, then its caller's)
// into `response`, then throws its refusal, if any, as the Error the caller
// answers (403 banned, 429 rate_limited, 401 unauthenticated, 403
// permission_denied).
void enforce(const admission::Verdict& verdict, Response& response,
             PermissionRefusal permission = PermissionRefusal::thrown);

}  // namespace pb::daemon
