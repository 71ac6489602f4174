#include "common/keys/named_limit.hpp"

#include <algorithm>

#include "common/core/error.hpp"
#include "common/core/json_parse.hpp"
#include "common/ops/schema.hpp"

namespace pb::keys {
namespace {

using nlohmann::json;

[[noreturn]] void bad(std::string_view what, const std::string& why) {
    throw Error(ErrorCode::invalid_argument, std::string(what) + ": " + why, {{"param", what}});
}

bool name_char(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

void check_name(std::string_view what, std::string_view name) {
    if (name.empty() || name.size() > 64 || !std::all_of(name.begin(), name.end(), name_char)) {
        bad(what, "a limit's name is 1 to 64 of a-z 0-9 _ . - (got \"" +
                      std::string(name.substr(0, 64)) + "\")");
    }
    // A refusal names its limit among the scopes' policies (RateLimit-Policy,
    // violated-policies): a limit may not take a scope's name.
    if (name == "ip" || name == "user" || name == "key") {
        bad(what, "\"" + std::string(name) + "\" is a scope's name; name the limit otherwise");
    }
}

NamedLimit one_limit(const json& item, std::string_view what) {
    const json obj = item.is_string() ? named_limit_word(item.get<std::string>(), what) : item;
    if (!obj.is_object()) {
        bad(what, "expected {\"name\",\"rate\",\"auto\",\"shadow\"} objects or NAME=RATE words");
    }
    for (const auto& [field, v] : obj.items()) {
        if (field != "name" && field != "rate" && field != "auto" && field != "shadow") {
            bad(what, "unknown field \"" + field.substr(0, 64) + "\" in a limit");
        }
    }
    const auto name = obj.find("name");
    const auto rate = obj.find("rate");
    if (name == obj.end() || !name->is_string() || rate == obj.end() || !rate->is_string()) {
        bad(what, "each limit needs a \"name\" and a \"rate\" (strings)");
    }
    NamedLimit l;
    l.name = name->get<std::string>();
    check_name(what, l.name);
    l.rate = rate->get<std::string>();
    const auto policy = parse_rate_limit(l.rate, std::string(what) + "." + l.name);
    if (!policy) {
        bad(what, "limit \"" + l.name + "\" needs a rate (RATE[,BURST]), not off");
    }
    l.policy = *policy;
    for (const auto* flag : {"auto", "shadow"}) {
        if (const auto f = obj.find(flag); f != obj.end()) {
            if (!f->is_boolean()) {
                bad(what, std::string("\"") + flag + "\" is true or false");
            }
            (std::string_view(flag) == "auto" ? l.auto_ : l.shadow) = f->get<bool>();
        }
    }
    return l;
}

}  // namespace

json NamedLimit::to_json() const {
    return {{"name", name}, {"rate", rate}, {"auto", auto_}, {"shadow", shadow}};
}

json NamedLimit::schema() {
    using namespace ops::schema;
    return named("NamedLimit",
                 object({{"name", string("1 to 64 of a-z 0-9 _ . -, not ip, user or key")},
                         {"rate", string("RATE[,BURST], e.g. 100/min or 10000/day,500")},
                         {"auto", boolean("Spent (cost 1) by a verify that names no limit")},
                         {"shadow", boolean("Counts and reports, never refuses")}}));
}

json NamedLimit::param_schema() {
    using namespace ops::schema;
    return array(object({{"name", string("1 to 64 of a-z 0-9 _ . -, not ip, user or key")},
                         {"rate", string("RATE[,BURST], e.g. 100/min or 10000/day,500")},
                         {"auto", optional(boolean("Spent (cost 1) by every verify"))},
                         {"shadow", optional(boolean("Counts and reports, never refuses"))}}));
}

json named_limit_word(std::string_view word, std::string_view what) {
    const auto eq = word.find('=');
    if (eq == std::string_view::npos || eq == 0) {
        bad(what,
            "expected NAME=RATE[:auto][:shadow], got \"" + std::string(word.substr(0, 100)) + "\"");
    }
    json obj{{"name", std::string(word.substr(0, eq))}};
    auto rest = word.substr(eq + 1);
    auto colon = rest.find(':');
    obj["rate"] = std::string(rest.substr(0, colon));
    while (colon != std::string_view::npos) {
        rest = rest.substr(colon + 1);
        colon = rest.find(':');
        const auto flag = rest.substr(0, colon);
        if (flag != "auto" && flag != "shadow") {
            bad(what, "a limit's flags are :auto and :shadow, got \":" +
                          std::string(flag.substr(0, 64)) + "\"");
        }
        obj[std::string(flag)] = true;
    }
    return obj;
}

std::vector<NamedLimit> parse_named_limits(const json& value, std::string_view what) {
    if (!value.is_array()) {
        bad(what, "expected an array of limits");
    }
    if (value.size() > k_max_named_limits) {
        bad(what, "at most " + std::to_string(k_max_named_limits) + " limits");
    }
    std::vector<NamedLimit> out;
    for (const auto& item : value) {
        out.push_back(one_limit(item, what));
    }
    std::sort(out.begin(), out.end(),
              [](const NamedLimit& a, const NamedLimit& b) { return a.name < b.name; });
    for (std::size_t i = 1; i < out.size(); ++i) {
        if (out[i].name == out[i - 1].name) {
            bad(what, "limit \"" + out[i].name + "\" is given twice");
        }
    }
    return out;
}

json limits_json(const std::vector<NamedLimit>& limits) {
    json out = json::array();
    for (const auto& l : limits) {
        out.push_back(l.to_json());
    }
    return out;
}

std::string stored_limits(const std::vector<NamedLimit>& limits) {
    return limits_json(limits).dump();
}

std::vector<NamedLimit> limits_from_stored(std::string_view text) {
    if (text.empty()) {
        return {};
    }
    try {
        return parse_named_limits(parse_json(text, "stored limits", {k_max_stored_json_depth}),
                                  "limits");
    } catch (const Error& e) {
        throw Error(ErrorCode::internal, std::string("stored limits do not parse: ") + e.what());
    }
}

std::vector<LimitCost> parse_limit_costs(const json& value) {
    constexpr std::string_view what = "limits";
    if (!value.is_array()) {
        bad(what, "expected an array of {\"name\",\"cost\"}");
    }
    if (value.size() > k_max_named_limits * 2) {
        bad(what, "at most " + std::to_string(k_max_named_limits * 2) + " limits");
    }
    std::vector<LimitCost> out;
    for (const auto& item : value) {
        const json obj = item.is_string() ? limit_cost_word(item.get<std::string>()) : item;
        if (!obj.is_object()) {
            bad(what, "expected {\"name\",\"cost\"} objects");
        }
        for (const auto& [field, v] : obj.items()) {
            if (field != "name" && field != "cost") {
                bad(what, "unknown field \"" + field.substr(0, 64) + "\" in a limit's cost");
            }
        }
        const auto name = obj.find("name");
        if (name == obj.end() || !name->is_string()) {
            bad(what, "each entry needs a \"name\"");
        }
        LimitCost c{name->get<std::string>(), 1};
        check_name(what, c.name);
        if (const auto cost = obj.find("cost"); cost != obj.end()) {
            if (!cost->is_number_integer() || cost->get<std::int64_t>() < 1 ||
                cost->get<std::int64_t>() > k_max_limit_cost) {
                bad(what, "the cost of \"" + c.name + "\" must be an integer from 1 to " +
                              std::to_string(k_max_limit_cost));
            }
            c.cost = cost->get<std::int64_t>();
        }
        for (const auto& seen : out) {
            if (seen.name == c.name) {
                bad(what, "limit \"" + c.name + "\" is named twice");
            }
        }
        out.push_back(std::move(c));
    }
    return out;
}

json limit_cost_word(std::string_view word) {
    const auto eq = word.find('=');
    if (eq == std::string_view::npos) {
        return {{"name", std::string(word)}};
    }
    const auto text = std::string(word.substr(eq + 1));
    std::int64_t cost = 0;
    const bool digits =
        !text.empty() && text.size() <= 18 &&
        std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits) {
        bad("cost", "expected NAME=COST with a whole number, got \"" +
                        std::string(word.substr(0, 100)) + "\"");
    }
    cost = std::stoll(text);
    return {{"name", std::string(word.substr(0, eq))}, {"cost", cost}};
}

}  // namespace pb::keys

namespace pb::keys {
namespace {

// `limits` as pbctl read it: a JSON text, parsed here (pbd takes the array).
nlohmann::json limits_text(const nlohmann::json& args) {
    const auto it = args.find("limits");
    if (it == args.end()) {
        return nlohmann::json::array();
    }
    if (!it->is_string()) {
        return *it;
    }
    return parse_json(it->get<std::string>(), "--limits", {k_max_stored_json_depth});
}

nlohmann::json with_words(const nlohmann::json& args, const char* words_param,
                          nlohmann::json (*word)(std::string_view)) {
    nlohmann::json out = args;
    if (!args.contains("limits") && !args.contains(words_param)) {
        return out;
    }
    auto limits = limits_text(args);
    if (!limits.is_array()) {
        bad("limits", "expected a JSON array");
    }
    if (const auto words = args.find(words_param); words != args.end()) {
        for (const auto& w : *words) {
            limits.push_back(word(w.get<std::string>()));
        }
    }
    out.erase(words_param);
    out["limits"] = std::move(limits);
    return out;
}

}  // namespace

nlohmann::json limits_from_cli(const nlohmann::json& args) {
    return with_words(args, "limit",
                      [](std::string_view w) { return named_limit_word(w, "limit"); });
}

nlohmann::json costs_from_cli(const nlohmann::json& args) {
    return with_words(args, "cost", [](std::string_view w) { return limit_cost_word(w); });
}

}  // namespace pb::keys
