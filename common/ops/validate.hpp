#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/core/clock.hpp"
#include "common/ops/op.hpp"

namespace pb::ops {

// How parameters are named in messages: as CLI flags ("--expires") or as JSON
// fields ("expires"), so each caller reads its own vocabulary.
enum class NameStyle { field, flag };

// Where arguments come from, which decides the spellings a value may take:
//   json: an HTTP body or a WebSocket message, the API's contract: JSON-native
//         values only (ParamType lists them; a duration's or a time's text is a
//         documented string format, not a loose spelling). CliOnly params are
//         unknown fields.
//   text: values written as text where JSON types cannot be (an action's YAML,
//         whose scalars are all text): from_text reads each first. CliOnly
//         params are unknown fields.
//   cli:  pbctl's command line: as text, and CliOnly params are known; pbctl
//         turns them into the JSON form (Op::from_cli) before dispatch.
enum class Surface { json, text, cli };

// The longest string validation accepts (TextBound::text).
inline constexpr std::size_t k_max_text_chars = 4096;

// The name of `p` as `style` writes it.
std::string param_label(const Param& p, NameStyle style);

// The JSON form of a value written as text, as far as `p`'s type says how to
// read it: "12" an integer, "true"/"yes"/"1" and "false"/"no"/"0" booleans,
// one string a list of one, JSON text an object, "never" or Unix ms digits a
// time. Anything else is returned as given, for validation to judge. Throws
// Error(invalid_argument) for an object's JSON text that does not parse.
nlohmann::json from_text(const Param& p, const nlohmann::json& v,
                         NameStyle style = NameStyle::field);

// from_text for a URL's path and query: also a duration's digits, which are
// milliseconds there as in the JSON form (pbctl --server writes a duration's
// number so), while on a command line "10" has no unit and is refused.
nlohmann::json from_url_text(const Param& p, const nlohmann::json& v);

// Checks `raw` (an object) against the op's params and returns the canonical
// arguments (see ParamType), with defaults filled in. Idempotent: canonical
// arguments validate to themselves on every surface. Throws
// Error(invalid_argument) naming the parameter, with details `param`, `pointer`
// (RFC 6901, into `raw`: "/claims", "/permissions/1") and `expected` (the JSON
// type in words); secret values are never echoed.
nlohmann::json validate_args(const Op& op, const nlohmann::json& raw, UnixMillis now,
                             NameStyle style = NameStyle::field, Surface surface = Surface::json);

// True when `p` is part of the contract of `surface` (CliOnly params are cli's only).
bool param_on(const Param& p, Surface surface);

// An optional argument of validated args: nullopt when absent or null (an
// integer, duration or time is an int64 after validation).
inline std::optional<std::int64_t> optional_int(const nlohmann::json& args, const char* name) {
    const auto it = args.find(name);
    if (it == args.end() || it->is_null()) {
        return std::nullopt;
    }
    return it->get<std::int64_t>();
}

// A copy of `args` with every secret param replaced by "<redacted>".
nlohmann::json redact_args(const Op& op, const nlohmann::json& args);

}  // namespace pb::ops
