#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/actions/action.hpp"

namespace pb::actions {

// One piece of a template: literal text, or a {{param}} placeholder.
struct Piece {
    bool is_param = false;
    std::string text;  // the literal, or the param's name
};

// Splits "--out={{target}}" into its pieces. Throws std::invalid_argument for
// a "{{" that does not close or names no valid parameter.
std::vector<Piece> parse_template(std::string_view text);

// How a run shows values: the real ones, or with secrets replaced by <redacted>.
enum class Reveal { values, redacted };

// The argv of a command action for canonical `values` (see validate_values).
// Each placeholder fills exactly one element (a list fills one element per
// item); an element naming an absent optional parameter is left out. A value
// starting with "-" at the start of an element is refused with
// Error(invalid_argument) unless a literal "--" element came before it, so a
// value never becomes an option the action did not place.
std::vector<std::string> render_argv(const Action& action, const nlohmann::json& values,
                                     Reveal reveal);

// The command's env entries (NAME -> value) from its templates; an entry naming
// an absent parameter is left out.
std::map<std::string, std::string> render_env(const Action& action, const nlohmann::json& values,
                                              Reveal reveal);

// The args of an op action: a string that is exactly one placeholder becomes
// the typed value (a duration as milliseconds, a list as an array); other
// strings are interpolated; a key naming an absent parameter is left out.
nlohmann::json render_op_args(const Action& action, const nlohmann::json& values, Reveal reveal);

}  // namespace pb::actions
