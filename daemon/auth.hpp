#pragma once

#include <string_view>

#include "common/ops/op.hpp"
#include "common/runtime/services.hpp"
#include "daemon/request.hpp"

namespace pb::daemon {

// The credential a request presents: `Authorization: Bearer <API key or JWT>`
// or `X-API-Key: pb_…`; empty when it presents none.
std::string_view presented_key(const Request& request);

// Who is calling an op that needs a permission: the API key of the request, or
// a JWT (permissions from its "permissions" list or its "scope"), verified now
// (so a key or token revoked elsewhere is refused at once). Throws
// Error(unauthenticated) when no key is presented or it does not verify
// (details.reason says why). Whether the key's permissions cover the op is
// the dispatcher's check, not this one's. Thread-safe.
ops::Caller authenticate(Services& services, const Request& request);

}  // namespace pb::daemon
