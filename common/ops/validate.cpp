#include "common/ops/validate.hpp"

#include <charconv>
#include <limits>

#include "common/core/error.hpp"
#include "common/core/json_parse.hpp"
#include "common/core/time_format.hpp"

namespace pb::ops {
namespace {

using nlohmann::json;

// The RFC 6901 pointer to a member of the args: "/" and the name, "~" and "/" escaped.
std::string member_pointer(std::string_view name) {
    std::string out = "/";
    for (char c : name) {
        if (c == '~') {
            out += "~0";
        } else if (c == '/') {
            out += "~1";
        } else {
            out.push_back(c);
        }
    }
    return out;
}

std::string pointer_of(const Param& p) {
    return member_pointer(p.name);
}

// What a param's JSON form is, in words (the details' "expected").
std::string json_type_words(const Param& p) {
    switch (p.type) {
        case ParamType::string:
            return "a string";
        case ParamType::integer:
            return "an integer";
        case ParamType::boolean:
            return "true or false";
        case ParamType::duration:
            return "an integer of milliseconds or a duration like 15m";
        case ParamType::time:
            return "an RFC 3339 time, Unix milliseconds, a duration from now like 30d, or null";
        case ParamType::string_list:
            return "an array of strings";
        case ParamType::json_object:
            return "an object";
        case ParamType::json_value:
            return "any JSON value";
    }
    return "a value";
}

// Where a refusal points and what it says was expected there, when not the
// param's own pointer or its message's words.
struct At {
    std::string pointer;
    std::string expected;
};

[[noreturn]] void reject(const Param& p, NameStyle style, std::string_view expected,
                         const json& got, const At& at = {}) {
    std::string msg = param_label(p, style) + ": expected " + std::string(expected);
    if (p.secret == Secret::no) {
        // Bytes that are not UTF-8 (a percent-decoded query can hold any) are
        // shown replaced: dump() would throw a library error instead.
        const std::string shown = got.is_string()
                                      ? got.get<std::string>()
                                      : got.dump(-1, ' ', false, json::error_handler_t::replace);
        msg += ", got \"" + (shown.size() > 80 ? shown.substr(0, 80) + "…" : shown) + "\"";
    }
    throw Error(ErrorCode::invalid_argument, msg,
                {{"param", p.name},
                 {"pointer", at.pointer.empty() ? pointer_of(p) : at.pointer},
                 {"expected", at.expected.empty() ? std::string(expected) : at.expected}});
}

// What a duration or a time beyond pb's limits is told (core/time_format.hpp).
const std::string k_too_long =
    "a duration of at most " + std::string(k_max_duration_text) + " (the longest pb accepts)";
const std::string k_too_far = "a time from 1970-01-01T00:00:00Z to " +
                              std::string(k_max_instant_text) + " (the latest pb accepts)";

bool all_digits(std::string_view s) {
    return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

std::optional<std::int64_t> int_of_text(const std::string& s) {
    std::int64_t out = 0;
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (ec == std::errc() && ptr == s.data() + s.size() && !s.empty()) {
        return out;
    }
    return std::nullopt;
}

std::string choice_list(const Param& p) {
    std::string list;
    for (const auto& c : p.choices) {
        list += (list.empty() ? "" : ", ") + c;
    }
    return list;
}

// The JSON form's checks: `v` must already be JSON-native (from_text reads text first).
json canonical(const Param& p, const json& v, UnixMillis now, NameStyle style) {
    switch (p.type) {
        case ParamType::string: {
            if (!v.is_string()) {
                reject(p, style, "a string", v);
            }
            const auto& s = v.get_ref<const std::string&>();
            if (!p.choices.empty() &&
                std::find(p.choices.begin(), p.choices.end(), s) == p.choices.end()) {
                reject(p, style, "one of " + choice_list(p), v);
            }
            // A token's bound is tokens.max_size, the token service's to check.
            if (p.bound == TextBound::text && s.size() > k_max_text_chars) {
                reject(p, style, "at most " + std::to_string(k_max_text_chars) + " characters",
                       json("…"));
            }
            return v;
        }
        case ParamType::integer: {
            if (!v.is_number_integer()) {
                reject(p, style, "an integer", v);
            }
            if (v.is_number_unsigned() &&
                v.get<std::uint64_t>() >
                    static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
                reject(p, style,
                       "an integer of at most " +
                           std::to_string(std::numeric_limits<std::int64_t>::max()),
                       v);
            }
            const auto n = v.get<std::int64_t>();
            if (n < p.min) {
                reject(p, style, "an integer of at least " + std::to_string(p.min), v);
            }
            return n;
        }
        case ParamType::boolean:
            if (v.is_boolean()) {
                return v;
            }
            reject(p, style, "true or false", v);
        case ParamType::duration: {
            // A JSON number is milliseconds; text needs its unit ("10" could mean anything).
            if (v.is_number_integer() && v.get<std::int64_t>() >= 0 && !v.is_number_unsigned()) {
                if (!duration_in_range(v.get<std::int64_t>())) {
                    reject(p, style, k_too_long, v);
                }
                return v;
            }
            if (v.is_number_unsigned()) {
                if (v.get<std::uint64_t>() >
                    static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
                    reject(p, style, k_too_long, v);  // beyond int64: only a number that large
                }
                const auto ms = v.get<std::int64_t>();
                if (!duration_in_range(ms)) {
                    reject(p, style, k_too_long, v);
                }
                return ms;
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
            reject(p, style, "a duration like 30s, 15m, 1h30m or 7d", v,
                   {.expected = json_type_words(p)});
        }
        case ParamType::time: {
            if (v.is_null()) {
                return nullptr;
            }
            if (v.is_number_integer()) {
                // A number is Unix milliseconds.
                if (v.is_number_unsigned() &&
                    v.get<std::uint64_t>() >
                        static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
                    reject(p, style, k_too_far, v);
                }
                const auto ms = v.get<std::int64_t>();
                if (!instant_in_range(ms)) {
                    reject(p, style, k_too_far, v);
                }
                return ms;
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
            reject(p, style, "a duration like 30d or an RFC 3339 time", v,
                   {.expected = json_type_words(p)});
        }
        case ParamType::string_list: {
            if (!v.is_array()) {
                reject(p, style, "an array of strings", v);
            }
            for (std::size_t i = 0; i < v.size(); ++i) {
                const auto& item = v[i];
                if (!item.is_string() || item.get_ref<const std::string&>().empty()) {
                    reject(p, style, "an array of non-empty strings", v,
                           {.pointer = pointer_of(p) + "/" + std::to_string(i),
                            .expected = "a non-empty string"});
                }
            }
            return v;
        }
        case ParamType::json_object: {
            if (v.is_object()) {
                return v;
            }
            reject(p, style, style == NameStyle::flag ? "a JSON object" : "an object", v,
                   {.expected = "an object"});
        }
        case ParamType::json_value:
            return v;
    }
    reject(p, style, "a value", v);
}

[[noreturn]] void unknown(const Op& op, const std::string& key, Surface surface) {
    std::string known;
    for (const auto& p : op.params) {
        if (param_on(p, surface)) {
            known += (known.empty() ? "" : ", ") + p.name;
        }
    }
    std::string msg = op.name + ": unknown " +
                      std::string(surface == Surface::cli ? "argument" : "field") + " \"" + key +
                      "\"";
    if (const Param* p = op.find_param(key); p != nullptr) {
        // A pbctl convenience sent as if it were a field: say where it belongs.
        msg += " (a pbctl option, not a field of the JSON API)";
    }
    throw Error(ErrorCode::invalid_argument, msg,
                {{"param", key},
                 {"pointer", member_pointer(key)},
                 {"expected", known.empty() ? "no fields" : "one of the fields " + known}});
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

bool param_on(const Param& p, Surface surface) {
    return p.cli_only == CliOnly::no || surface == Surface::cli;
}

json from_text(const Param& p, const json& v, NameStyle style) {
    if (!v.is_string()) {
        return v;
    }
    const auto& s = v.get_ref<const std::string&>();
    switch (p.type) {
        case ParamType::integer:
            if (const auto n = int_of_text(s)) {
                return *n;
            }
            return v;
        case ParamType::boolean:
            if (s == "true" || s == "1" || s == "yes") {
                return true;
            }
            if (s == "false" || s == "0" || s == "no") {
                return false;
            }
            return v;
        case ParamType::time:
            if (s == "never") {
                return nullptr;
            }
            if (all_digits(s)) {
                if (const auto n = int_of_text(s)) {
                    return *n;  // digits are Unix milliseconds
                }
                reject(p, style, k_too_far, v);  // digits beyond int64
            }
            return v;
        case ParamType::string_list:
            return json::array({v});
        case ParamType::json_object: {
            // The object becomes one member of a request body: one level less.
            json parsed;
            try {
                parsed = parse_json(s, param_label(p, style), {k_max_json_depth - 1});
            } catch (const Error& e) {
                json details = e.details();
                details["param"] = p.name;
                details["pointer"] = pointer_of(p);
                details["expected"] = "an object";
                throw Error(e.code(), e.what(), std::move(details));
            }
            return parsed.is_object() ? parsed : v;
        }
        case ParamType::string:
        case ParamType::duration:
        case ParamType::json_value:
            return v;
    }
    return v;
}

json from_url_text(const Param& p, const json& v) {
    if (p.type == ParamType::duration && v.is_string()) {
        if (const auto ms = int_of_text(v.get<std::string>());
            ms && all_digits(v.get<std::string>())) {
            return *ms;
        }
    }
    return from_text(p, v);
}

json validate_args(const Op& op, const json& raw, UnixMillis now, NameStyle style,
                   Surface surface) {
    if (!raw.is_object()) {
        throw Error(ErrorCode::invalid_argument, "arguments must be a JSON object",
                    {{"pointer", ""}, {"expected", "an object"}});
    }
    for (const auto& [key, value] : raw.items()) {
        // Bytes that are not text would fail later, in a library's dump().
        if (!is_utf8(key)) {
            throw Error(ErrorCode::invalid_argument, op.name + ": an argument name is not UTF-8");
        }
        const Param* p = op.find_param(key);
        if (p == nullptr || !param_on(*p, surface)) {
            unknown(op, key, surface);
        }
        if (!is_utf8_tree(value)) {
            throw Error(ErrorCode::invalid_argument,
                        param_label(*p, style) + ": not valid UTF-8 text",
                        {{"param", p->name}, {"pointer", pointer_of(*p)}});
        }
    }
    json out = json::object();
    for (const auto& p : op.params) {
        if (!param_on(p, surface)) {
            continue;
        }
        auto it = raw.find(p.name);
        json given = it == raw.end() ? json() : *it;
        if (it != raw.end() && surface != Surface::json) {
            given = from_text(p, given, style);
        }
        if (it == raw.end() || (given.is_null() && p.type != ParamType::time)) {
            if (p.required == Required::yes ||
                (p.required == Required::api && surface != Surface::cli)) {
                throw Error(ErrorCode::invalid_argument, param_label(p, style) + " is required",
                            {{"param", p.name},
                             {"pointer", pointer_of(p)},
                             {"expected", json_type_words(p)}});
            }
            if (!p.fallback.is_null()) {
                out[p.name] = canonical(p, p.fallback, now, style);
            }
            continue;
        }
        out[p.name] = canonical(p, given, now, style);
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
