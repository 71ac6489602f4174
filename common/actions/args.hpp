#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/actions/action.hpp"

namespace pb::actions {

// Checks one value against its declaration (type, range, pattern, enum values,
// path roots) and returns its canonical form (see ParamKind). Text spellings
// are accepted for every type ("12", "true", "1h30m"). Throws
// Error(invalid_argument) naming the parameter, never echoing a secret.
nlohmann::json coerce_value(const ParamSpec& spec, const nlohmann::json& value,
                            std::string_view action_name);

// Checks `raw` (an object of name -> value) against the action's parameters:
// unknown names refused, required ones present, defaults filled, every value
// coerced. Returns the canonical values. Error(invalid_argument).
nlohmann::json validate_values(const Action& action, const nlohmann::json& raw);

// Merges "NAME=VALUE" pairs (pbctl --arg) into `into`. A name given twice
// becomes a list. Error(invalid_argument) for a pair without "=" or a name
// also given in `into`.
void merge_pairs(const std::vector<std::string>& pairs, nlohmann::json& into);

// The text of a non-list canonical value as a command receives it (a duration
// as "1h30m", a bool as "true"/"false").
std::string value_text(const ParamSpec& spec, const nlohmann::json& value);

// `values` with every secret parameter replaced by "<redacted>".
nlohmann::json redact_values(const Action& action, const nlohmann::json& values);

}  // namespace pb::actions
