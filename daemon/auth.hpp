#pragma once

#include <string_view>

#include "common/keys/service.hpp"
#include "common/ops/op.hpp"
#include "common/runtime/services.hpp"
#include "daemon/request.hpp"

namespace pb::daemon {

// The credential a request presents: `Authorization: Bearer <API key or JWT>`
// or `X-API-Key: pb_…`; empty when it presents none.
std::string_view presented_key(const Request& request);

// A credential that verified, before anything is spent on it: who is
// calling, and for an API key its check (the record, when the secret stops
// verifying by itself). Bans, limits and the key's uses are the gate's
// admission (Gate::admit_caller, keys::admit).
struct Credential {
    ops::Caller caller;
    keys::VerifyResult key;  // valid, with its record, for an API key; empty for a JWT
};

// Who is calling an op that needs a permission: the API key of the request, or
// a JWT (permissions from its "permissions" list or its "scope"), verified now
// (so a key or token revoked elsewhere is refused at once) from the in-memory
// indexes, spending nothing. Throws Error(unauthenticated) when no key is
// presented or it does not verify (details.reason says why). Whether the
// key's permissions cover the op is the dispatcher's check, not this one's.
// Request::authenticated, when set, is returned as it is. Thread-safe.
Credential identify(Services& services, const Request& request);
// The same for the text of a credential (an API key or a JWT).
Credential identify(Services& services, std::string_view credential);

}  // namespace pb::daemon
