#pragma once

#include <nlohmann/json.hpp>

#include "common/ops/op.hpp"
#include "common/ops/validate.hpp"
#include "common/runtime/services.hpp"

namespace pb::runtime {

// The one way an op runs, whatever the transport: permission check, argument
// validation, the handler, and an audit record for every mutating op (success
// or failure; secrets redacted). Throws pb::Error. `services` is pbctl's or
// pbd's Services (any ops::ServiceRegistry that has a store::Store). `surface`
// says which spellings the args may take (ops::Surface): HTTP bodies,
// WebSocket messages and pbctl (after Op::from_cli) give the JSON form.
nlohmann::json dispatch(ops::ServiceRegistry& services, const ops::Op& op,
                        const nlohmann::json& raw_args, const ops::Caller& caller,
                        ops::NameStyle style = ops::NameStyle::field,
                        ops::Surface surface = ops::Surface::json);

// dispatch() with `handler` in place of op.handler: a WebSocket op
// (ops::ServedOn::websocket), which the table describes and pbd's session
// serves with a handler of its own (it needs the session).
nlohmann::json dispatch(ops::ServiceRegistry& services, const ops::Op& op,
                        const ops::Handler& handler, const nlohmann::json& raw_args,
                        const ops::Caller& caller, ops::NameStyle style = ops::NameStyle::field,
                        ops::Surface surface = ops::Surface::json);

}  // namespace pb::runtime
