#pragma once

#include "common/core/outcomes.hpp"
#include "common/limits/policy.hpp"

namespace pb::limits {

// Rate-limit checks this process made under a policy (pbd's own limits,
// /v1/auth, limits.check), by scope and outcome: allowed, limited, or
// degraded (allowed because Redis could not answer and the failure policy is
// open). A scope without a policy is not counted. pbd renders
// pb_limit_checks_total.
Outcomes& limit_check_outcomes(Scope scope);

}  // namespace pb::limits
