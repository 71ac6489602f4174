#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

#include "common/core/outcomes.hpp"

namespace pb::daemon {

// One labelled series set of a family: `labels` are the constant labels
// before the outcome (`kind="key",` or ""), `label` names the outcome's.
struct OutcomeSeries {
    std::string_view labels;
    const Outcomes& outcomes;
};

// Appends the family `name` (a counter) with one sample per outcome of each
// series, zeros included: a dashboard's rate() needs the series before the
// first event.
void append_outcomes(std::string& out, std::string_view name, std::string_view help,
                     std::string_view label, std::initializer_list<OutcomeSeries> series);

// pb_key_verify_total, pb_token_verify_total, pb_credential_checks_total and
// pb_limit_checks_total: what the domains counted (common/*/outcomes.hpp).
void append_outcome_metrics(std::string& out);

}  // namespace pb::daemon
