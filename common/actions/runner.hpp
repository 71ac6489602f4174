#pragma once

#include <nlohmann/json.hpp>

#include "common/actions/action.hpp"
#include "common/ops/op.hpp"

namespace pb::actions {

enum class RunMode { run, dry_run };

// Runs `action` for `caller`: checks the action's own permission
// (Error(permission_denied)), validates `raw_values` (Error(invalid_argument)),
// then dispatches its op (as the caller, so the op's permission and audit
// apply too) or starts its command. A dry run stops before anything runs and
// shows what would (secrets redacted). Every run and refusal is audited with
// the action's secrets redacted; a run appends the event
// action.succeeded|failed|timed_out on topic "actions/<name>".
// A command that fails is a result ({"status":"failed"}), not an error.
nlohmann::json run_action(ops::ServiceRegistry& services, const Action& action,
                          const nlohmann::json& raw_values, const ops::Caller& caller,
                          RunMode mode);
// The JSON Schema of run_action()'s answer, a run or a dry run ("ActionRun").
nlohmann::json run_schema();

}  // namespace pb::actions
