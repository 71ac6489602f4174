#include "common/actions/args.hpp"

#include <cmath>
#include <set>

#include "common/core/error.hpp"
#include "common/core/time_format.hpp"

namespace pb::actions {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

[[noreturn]] void refuse(const ParamSpec& p, std::string_view action, const std::string& why,
                         const json& got = nullptr) {
    std::string msg = "action " + std::string(action) + ": parameter " + p.name + ": " + why;
    if (!p.secret && !got.is_null()) {
        const std::string shown = got.is_string() ? got.get<std::string>() : got.dump();
        msg += " (got \"" + (shown.size() > 80 ? shown.substr(0, 80) + "…" : shown) + "\")";
    }
    throw Error(ErrorCode::invalid_argument, msg, {{"param", p.name}, {"action", action}});
}

std::string as_text(const ParamSpec& p, std::string_view action, const json& v) {
    if (!v.is_string()) {
        refuse(p, action, "expected text", v);
    }
    auto s = v.get<std::string>();
    // argv and environment entries are C strings: a NUL would silently cut the value.
    if (s.find('\0') != std::string::npos) {
        refuse(p, action, "a NUL byte is not allowed");
    }
    return s;
}

void check_pattern(const ParamSpec& p, std::string_view action, const std::string& s) {
    if (p.pattern_re && !std::regex_match(s, *p.pattern_re)) {
        refuse(p, action, "does not match the pattern " + p.pattern, s);
    }
}

void check_range(const ParamSpec& p, std::string_view action, double v, const std::string& what,
                 const json& got) {
    if (p.min && v < *p.min) {
        refuse(p, action, what + " is below the minimum " + json(*p.min).dump(), got);
    }
    if (p.max && v > *p.max) {
        refuse(p, action, what + " is above the maximum " + json(*p.max).dump(), got);
    }
}

bool inside(const fs::path& p, const fs::path& root) {
    auto r = root.begin();
    auto q = p.begin();
    for (; r != root.end(); ++r, ++q) {
        if (r->empty()) {
            continue;  // a trailing separator
        }
        if (q == p.end() || *q != *r) {
            return false;
        }
    }
    return true;
}

// Normalised, symlinks of the existing part resolved, and inside one of the
// roots (resolved the same way), so neither ".." nor a symlink leads out.
std::string confine(const ParamSpec& p, std::string_view action, const std::string& text) {
    if (text.empty()) {
        refuse(p, action, "an empty path");
    }
    fs::path path = text;
    if (path.is_relative()) {
        path = p.roots.front() / path;
    }
    std::error_code ec;
    const auto resolved = fs::weakly_canonical(path.lexically_normal(), ec);
    if (ec) {
        refuse(p, action, "cannot resolve the path: " + ec.message(), text);
    }
    for (const auto& root : p.roots) {
        const auto real_root = fs::weakly_canonical(root, ec);
        if (!ec && inside(resolved, real_root)) {
            return resolved.string();
        }
    }
    std::string roots;
    for (const auto& r : p.roots) {
        roots += (roots.empty() ? "" : ", ") + r.string();
    }
    refuse(p, action, "the path must stay inside " + roots, text);
}

}  // namespace

json coerce_value(const ParamSpec& p, const json& v, std::string_view action) {
    switch (p.kind) {
        case ParamKind::string: {
            auto s = as_text(p, action, v);
            check_range(p, action, static_cast<double>(s.size()), "the length", s);
            check_pattern(p, action, s);
            return s;
        }
        case ParamKind::integer: {
            std::int64_t n = 0;
            if (v.is_number_integer()) {
                n = v.get<std::int64_t>();
            } else if (v.is_string()) {
                const auto s = v.get<std::string>();
                std::size_t used = 0;
                try {
                    n = std::stoll(s, &used, 10);
                } catch (const std::exception&) {
                    used = 0;
                }
                if (s.empty() || used != s.size()) {
                    refuse(p, action, "expected an integer", v);
                }
            } else {
                refuse(p, action, "expected an integer", v);
            }
            check_range(p, action, static_cast<double>(n), "the value", v);
            return n;
        }
        case ParamKind::number: {
            double d = 0;
            if (v.is_number()) {
                d = v.get<double>();
            } else if (v.is_string()) {
                const auto s = v.get<std::string>();
                std::size_t used = 0;
                try {
                    d = std::stod(s, &used);
                } catch (const std::exception&) {
                    used = 0;
                }
                if (s.empty() || used != s.size()) {
                    refuse(p, action, "expected a number", v);
                }
            } else {
                refuse(p, action, "expected a number", v);
            }
            if (!std::isfinite(d)) {
                refuse(p, action, "expected a finite number", v);
            }
            check_range(p, action, d, "the value", v);
            return d;
        }
        case ParamKind::boolean: {
            if (v.is_boolean()) {
                return v;
            }
            const auto s = v.is_string() ? v.get<std::string>() : std::string();
            if (s == "true" || s == "yes" || s == "1") {
                return true;
            }
            if (s == "false" || s == "no" || s == "0") {
                return false;
            }
            refuse(p, action, "expected true or false", v);
        }
        case ParamKind::enumeration: {
            const auto s = as_text(p, action, v);
            for (const auto& allowed : p.values) {
                if (s == allowed) {
                    return s;
                }
            }
            std::string list;
            for (const auto& allowed : p.values) {
                list += (list.empty() ? "" : ", ") + allowed;
            }
            refuse(p, action, "expected one of " + list, v);
        }
        case ParamKind::duration: {
            std::optional<std::int64_t> ms;
            if (v.is_number_integer()) {
                ms = v.get<std::int64_t>();
            } else if (v.is_string()) {
                ms = parse_duration(v.get<std::string>());
            }
            if (!ms || *ms < 0) {
                refuse(p, action, "expected a duration like 30s, 5m or 1h30m", v);
            }
            if (!duration_in_range(*ms)) {
                refuse(p, action,
                       "expected a duration of at most " + std::string(k_max_duration_text), v);
            }
            check_range(p, action, static_cast<double>(*ms), "the duration", v);
            return *ms;
        }
        case ParamKind::list: {
            const json items = v.is_array() ? v : json::array({v});
            json out = json::array();
            for (const auto& item : items) {
                auto s = as_text(p, action, item);
                check_pattern(p, action, s);
                out.push_back(std::move(s));
            }
            check_range(p, action, static_cast<double>(out.size()), "the number of items", nullptr);
            return out;
        }
        case ParamKind::path: {
            const auto s = as_text(p, action, v);
            check_pattern(p, action, s);
            return confine(p, action, s);
        }
    }
    refuse(p, action, "unknown type");
}

json validate_values(const Action& action, const json& raw) {
    if (!raw.is_object()) {
        throw Error(ErrorCode::invalid_argument,
                    "action " + action.name + ": arguments must be an object of name to value");
    }
    for (const auto& [name, value] : raw.items()) {
        if (action.find_param(name) == nullptr) {
            std::string known;
            for (const auto& p : action.params) {
                known += (known.empty() ? "" : ", ") + p.name;
            }
            throw Error(ErrorCode::invalid_argument,
                        "action " + action.name + ": unknown parameter \"" + name + "\"" +
                            (known.empty() ? " (it takes none)" : " (expected " + known + ")"),
                        {{"param", name}, {"action", action.name}});
        }
    }
    json out = json::object();
    for (const auto& p : action.params) {
        const auto it = raw.find(p.name);
        if (it == raw.end() || it->is_null()) {
            if (p.required) {
                throw Error(ErrorCode::invalid_argument,
                            "action " + action.name + ": parameter " + p.name + " is required",
                            {{"param", p.name}, {"action", action.name}});
            }
            if (!p.fallback.is_null()) {
                out[p.name] = p.fallback;
            }
            continue;
        }
        out[p.name] = coerce_value(p, *it, action.name);
    }
    return out;
}

void merge_pairs(const std::vector<std::string>& pairs, json& into) {
    std::set<std::string> from_pairs;
    for (const auto& pair : pairs) {
        const auto eq = pair.find('=');
        if (eq == std::string::npos || eq == 0) {
            throw Error(ErrorCode::invalid_argument,
                        "--arg: expected NAME=VALUE, got \"" +
                            (pair.size() > 40 ? pair.substr(0, 40) + "…" : pair) + "\"");
        }
        const auto name = pair.substr(0, eq);
        json value = pair.substr(eq + 1);
        if (from_pairs.insert(name).second) {
            if (into.contains(name)) {
                throw Error(ErrorCode::invalid_argument,
                            "--arg " + name + " is also in --args-json", {{"param", name}});
            }
            into[name] = std::move(value);
        } else {
            // Repeating a name builds a list: --arg tag=a --arg tag=b.
            auto& slot = into[name];
            if (!slot.is_array()) {
                slot = json::array({slot});
            }
            slot.push_back(std::move(value));
        }
    }
}

std::string value_text(const ParamSpec& p, const json& v) {
    switch (p.kind) {
        case ParamKind::integer:
            return std::to_string(v.get<std::int64_t>());
        case ParamKind::number:
            return v.dump();
        case ParamKind::boolean:
            return v.get<bool>() ? "true" : "false";
        case ParamKind::duration:
            return format_duration(v.get<std::int64_t>());
        default:
            return v.is_string() ? v.get<std::string>() : v.dump();
    }
}

json redact_values(const Action& action, const json& values) {
    json out = values;
    for (const auto& p : action.params) {
        if (p.secret && out.contains(p.name)) {
            out[p.name] = "<redacted>";
        }
    }
    return out;
}

}  // namespace pb::actions
