#include "common/ops/validate.hpp"

#include <charconv>

#include "common/core/error.hpp"
#include "common/core/json_parse.hpp"
#include "common/core/time_format.hpp"

namespace pb::ops {
namespace {

using nlohmann::json;

[[noreturn]] void reject(const Param& p, NameStyle style, std::string_view expected,
                         const json& got) {
    std::string msg = param_label(p, style) + ": expected " + std::string(expected);
    if (p.secret == Secret::no) {
        // Bytes that are not UTF-8 (a percent-decoded query can hold any) are
        // shown replaced: dump() would throw a library error instead.
        const std::string shown = got.is_string()
                                      ? got.get<std::string>()
                                      : got.dump(-1, ' ', false, json::error_handler_t::replace);
        msg += ", got \"" + (shown.size() > 80 ? shown.substr(0, 80) + "…" : shown) + "\"";
    }
    throw Error(ErrorCode::invalid_argument, msg, {{"param", p.name}});
}

// What a duration or a time beyond pb's limits is told (core/time_format.hpp).
const std::string k_too_long =
    "a duration of at most " + std::string(k_max_duration_text) + " (the longest pb accepts)";
const std::string k_too_far = "a time from 1970-01-01T00:00:00Z to " +
                              std::string(k_max_instant_text) + " (the latest pb accepts)";

bool all_digits(std::string_view s) {
    return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

std::optional<std::int64_t> as_int(const json& v) {
    if (v.is_number_integer()) {
        return v.get<std::int64_t>();
    }
    if (v.is_string()) {
        const auto& s = v.get_ref<const std::string&>();
        std::int64_t out = 0;
        const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
        if (ec == std::errc() && ptr == s.data() + s.size() && !s.empty()) {
            return out;
        }
    }
    return std::nullopt;
}

json canonical(const Param& p, const json& v, UnixMillis now, NameStyle style) {
    switch (p.type) {
        case ParamType::string: {
            if (!v.is_string()) {
                reject(p, style, "text", v);
            }
            const auto& s = v.get_ref<const std::string&>();
            if (!p.choices.empty() &&
                std::find(p.choices.begin(), p.choices.end(), s) == p.choices.end()) {
                std::string list;
                for (const auto& c : p.choices) {
                    list += (list.empty() ? "" : ", ") + c;
                }
                reject(p, style, "one of " + list, v);
            }
            if (s.size() > p.max_length) {
                reject(p, style, "at most " + std::to_string(p.max_length) + " characters",
                       json("…"));
            }
            return v;
        }
        case ParamType::integer: {
            const auto n = as_int(v);
            if (!n) {
                reject(p, style, "an integer", v);
            }
            if (*n < p.min) {
                reject(p, style, "an integer of at least " + std::to_string(p.min), v);
            }
            return *n;
        }
        case ParamType::boolean:
            if (v.is_boolean()) {
                return v;
            }
            if (v == "true" || v == "1" || v == "yes") {
                return true;
            }
            if (v == "false" || v == "0" || v == "no") {
                return false;
            }
            reject(p, style, "true or false", v);
        case ParamType::duration: {
            // A JSON number is milliseconds; text needs its unit ("10" could mean anything).
            if (v.is_number_integer() && v.get<std::int64_t>() >= 0) {
                if (!duration_in_range(v.get<std::int64_t>())) {
                    reject(p, style, k_too_long, v);
                }
                return v;
            }
            if (v.is_number_unsigned()) {
                reject(p, style, k_too_long, v);  // beyond int64: only a number that large
            }
            if (v.is_string()) {
                const auto d = read_duration(v.get<std::string>());
                if (d.ms) {
                    return *d.ms;
                }
                if (d.out_of_range) {
                    reject(p, style, k_too_long, v);
                }
            }
            reject(p, style, "a duration like 30s, 15m, 1h30m or 7d", v);
        }
        case ParamType::time: {
            if (v.is_null() || v == "never") {
                return nullptr;
            }
            if (const auto ms = as_int(v)) {
                // A bare number is Unix milliseconds.
                if (!instant_in_range(*ms)) {
                    reject(p, style, k_too_far, v);
                }
                return *ms;
            }
            if (v.is_number_unsigned() || (v.is_string() && all_digits(v.get<std::string>()))) {
                reject(p, style, k_too_far, v);  // digits beyond int64
            }
            if (v.is_string()) {
                const auto& text = v.get_ref<const std::string&>();
                const auto t = read_time(text, now);
                if (t.ms) {
                    return *t.ms;
                }
                if (t.out_of_range) {
                    reject(p, style, read_duration(text).out_of_range ? k_too_long : k_too_far, v);
                }
            }
            reject(p, style, "a duration like 30d or an RFC 3339 time", v);
        }
        case ParamType::string_list: {
            if (v.is_string()) {
                return json::array({v});
            }
            if (!v.is_array()) {
                reject(p, style, "a list of text values", v);
            }
            for (const auto& item : v) {
                if (!item.is_string() || item.get_ref<const std::string&>().empty()) {
                    reject(p, style, "a list of non-empty text values", v);
                }
            }
            return v;
        }
        case ParamType::json_object: {
            if (v.is_object()) {
                return v;
            }
            if (v.is_string()) {
                // The object becomes one member of a request body: one level less.
                json parsed;
                try {
                    parsed = parse_json(v.get_ref<const std::string&>(), param_label(p, style),
                                        {k_max_json_depth - 1});
                } catch (const Error& e) {
                    json details = e.details();
                    details["param"] = p.name;
                    throw Error(e.code(), e.what(), std::move(details));
                }
                if (parsed.is_object()) {
                    return parsed;
                }
            }
            reject(p, style, "a JSON object", v);
        }
        case ParamType::json_value:
            return v;
    }
    reject(p, style, "a value", v);
}

}  // namespace

std::string param_label(const Param& p, NameStyle style) {
    if (style == NameStyle::field) {
        return p.name;
    }
    if (p.positional == Positional::yes) {
        std::string upper;
        for (char c : p.name) {
            upper.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
        }
        return upper;
    }
    std::string flag = p.flag.empty() ? p.name : p.flag;
    std::replace(flag.begin(), flag.end(), '_', '-');
    return "--" + flag;
}

json validate_args(const Op& op, const json& raw, UnixMillis now, NameStyle style) {
    if (!raw.is_object()) {
        throw Error(ErrorCode::invalid_argument, "arguments must be a JSON object");
    }
    for (const auto& [key, value] : raw.items()) {
        // Bytes that are not text would fail later, in a library's dump().
        if (!is_utf8(key)) {
            throw Error(ErrorCode::invalid_argument, op.name + ": an argument name is not UTF-8");
        }
        if (const Param* p = op.find_param(key); p != nullptr && !is_utf8_tree(value)) {
            throw Error(ErrorCode::invalid_argument,
                        param_label(*p, style) + ": not valid UTF-8 text", {{"param", p->name}});
        }
        if (op.find_param(key) == nullptr) {
            throw Error(ErrorCode::invalid_argument, op.name + ": unknown argument \"" + key + "\"",
                        {{"param", key}});
        }
    }
    json out = json::object();
    for (const auto& p : op.params) {
        auto it = raw.find(p.name);
        if (it == raw.end() || (it->is_null() && p.type != ParamType::time)) {
            if (p.required == Required::yes) {
                throw Error(ErrorCode::invalid_argument, param_label(p, style) + " is required",
                            {{"param", p.name}});
            }
            if (!p.fallback.is_null()) {
                out[p.name] = canonical(p, p.fallback, now, style);
            }
            continue;
        }
        out[p.name] = canonical(p, *it, now, style);
    }
    return out;
}

json redact_args(const Op& op, const json& args) {
    json out = args;
    for (const auto& p : op.params) {
        if (p.secret == Secret::yes && out.contains(p.name)) {
            out[p.name] = "<redacted>";
        }
    }
    return out;
}

}  // namespace pb::ops
