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

// The name of `p` as `style` writes it.
std::string param_label(const Param& p, NameStyle style);

// Checks `raw` (an object) against the op's params and returns the canonical
// arguments (see ParamType), with defaults filled in. Idempotent: canonical
// arguments validate to themselves. Throws Error(invalid_argument) naming the
// parameter; secret values are never echoed.
nlohmann::json validate_args(const Op& op, const nlohmann::json& raw, UnixMillis now,
                             NameStyle style = NameStyle::field);

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
