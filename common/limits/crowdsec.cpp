#include "common/limits/crowdsec.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>

#include "common/core/error.hpp"

namespace pb::limits::crowdsec {
namespace {

using nlohmann::json;

// Bounds on what a query may ask: a bouncer's filters are a handful of words.
constexpr std::size_t k_max_list = 32;
constexpr std::size_t k_max_word = 200;

std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

// The one string value of query parameter `name`, or nullopt when absent.
std::optional<std::string> one(const json& query, const char* name) {
    if (!query.is_object() || !query.contains(name)) {
        return std::nullopt;
    }
    const auto& v = query[name];
    if (!v.is_string()) {
        throw Error(ErrorCode::invalid_argument, std::string(name) + ": given more than once",
                    {{"param", name}});
    }
    return v.get<std::string>();
}

// A comma list (CrowdSec's filters are one parameter each, comma-separated).
std::vector<std::string> words(const char* name, const std::string& text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (true) {
        const auto comma = text.find(',', start);
        auto word =
            text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (word.empty() || word.size() > k_max_word) {
            throw Error(ErrorCode::invalid_argument,
                        std::string(name) + ": a comma list of words of 1 to " +
                            std::to_string(k_max_word) + " characters",
                        {{"param", name}});
        }
        out.push_back(std::move(word));
        if (out.size() > k_max_list) {
            throw Error(ErrorCode::invalid_argument,
                        std::string(name) + ": at most " + std::to_string(k_max_list) + " words",
                        {{"param", name}});
        }
        if (comma == std::string::npos) {
            return out;
        }
        start = comma + 1;
    }
}

bool contains_any(const std::string& text, const std::vector<std::string>& parts) {
    return std::any_of(parts.begin(), parts.end(),
                       [&](const std::string& p) { return text.find(p) != std::string::npos; });
}

}  // namespace

std::string go_duration(std::int64_t ms) {
    if (ms == 0) {
        return "0s";
    }
    std::string sign = ms < 0 ? "-" : "";
    // No overflow: pb's durations stay far below INT64_MAX ms.
    const std::uint64_t abs_ms =
        ms < 0 ? static_cast<std::uint64_t>(-(ms + 1)) + 1 : static_cast<std::uint64_t>(ms);
    if (abs_ms < 1000) {
        return sign + std::to_string(abs_ms) + "ms";
    }
    const auto hours = abs_ms / 3'600'000;
    const auto minutes = abs_ms / 60'000 % 60;
    const auto seconds = abs_ms / 1000 % 60;
    const auto millis = abs_ms % 1000;
    std::string out = sign;
    if (hours > 0) {
        out += std::to_string(hours) + "h";
    }
    if (hours > 0 || minutes > 0) {
        out += std::to_string(minutes) + "m";
    }
    out += std::to_string(seconds);
    if (millis > 0) {
        std::string frac = std::to_string(millis);
        frac.insert(0, 3 - frac.size(), '0');
        frac.erase(frac.find_last_not_of('0') + 1);
        out += "." + frac;
    }
    return out + "s";
}

std::string_view origin_of(const Ban& ban) {
    return ban.origin == BanOrigin::auto_ban ? "crowdsec" : "cscli";
}

std::string scenario_of(const Ban& ban) {
    return ban.reason.empty() ? std::string("pb/ban") : ban.reason;
}

json decision_json(const Ban& ban, UnixMillis now) {
    const auto left = ban.expires_at ? *ban.expires_at - now : k_permanent_ms;
    return json{{"id", ban.id},
                {"origin", origin_of(ban)},
                {"type", "ban"},
                {"scope", ban.target.kind == BanKind::range ? "Range" : "Ip"},
                {"value", ban.target.value},
                {"duration", go_duration(left)},
                {"scenario", scenario_of(ban)},
                {"simulated", false}};
}

bool DecisionFilter::matches(const Ban& ban) const {
    if (std::find(scopes.begin(), scopes.end(), ban.target.kind) == scopes.end()) {
        return false;
    }
    if (!origins.empty() &&
        std::find(origins.begin(), origins.end(), origin_of(ban)) == origins.end()) {
        return false;
    }
    const auto scenario = scenario_of(ban);
    if (!scenarios_containing.empty() && !contains_any(scenario, scenarios_containing)) {
        return false;
    }
    return scenarios_not_containing.empty() || !contains_any(scenario, scenarios_not_containing);
}

std::string DecisionFilter::key() const {
    json scope_names = json::array();
    for (const auto s : scopes) {
        scope_names.push_back(to_string(s));
    }
    return json{scope_names, origins, scenarios_containing, scenarios_not_containing}.dump();
}

bool parse_bool(std::string_view param, std::string_view text) {
    static constexpr std::array<std::string_view, 6> k_true{"1", "t", "T", "TRUE", "true", "True"};
    static constexpr std::array<std::string_view, 6> k_false{"0",     "f",     "F",
                                                             "FALSE", "false", "False"};
    if (std::find(k_true.begin(), k_true.end(), text) != k_true.end()) {
        return true;
    }
    if (std::find(k_false.begin(), k_false.end(), text) != k_false.end()) {
        return false;
    }
    throw Error(ErrorCode::invalid_argument, std::string(param) + ": true or false",
                {{"param", std::string(param)}});
}

DecisionFilter parse_filter(const json& query) {
    DecisionFilter f;
    if (const auto scopes = one(query, "scopes")) {
        f.scopes.clear();
        for (const auto& w : words("scopes", *scopes)) {
            const auto s = lower(w);
            if (s == "ip") {
                f.scopes.push_back(BanKind::ip);
            } else if (s == "range") {
                f.scopes.push_back(BanKind::range);
            } else if (s != "country" && s != "as") {
                // CrowdSec's other scopes are valid questions pb answers with
                // nothing; anything else is a mistake worth telling.
                throw Error(ErrorCode::invalid_argument,
                            "scopes: a comma list of ip, range (country and as match nothing "
                            "in pb)",
                            {{"param", "scopes"}});
            }
        }
    }
    if (const auto origins = one(query, "origins")) {
        for (auto& w : words("origins", *origins)) {
            if (w != "crowdsec" && w != "cscli" && w != "CAPI" && w != "console" &&
                w.rfind("lists:", 0) != 0) {
                throw Error(ErrorCode::invalid_argument,
                            "origins: a comma list of crowdsec, cscli, CAPI, console, lists:NAME "
                            "(pb's bans are cscli when set by hand, crowdsec when automatic)",
                            {{"param", "origins"}});
            }
            f.origins.push_back(std::move(w));
        }
    }
    if (const auto c = one(query, "scenarios_containing")) {
        f.scenarios_containing = words("scenarios_containing", *c);
    }
    if (const auto c = one(query, "scenarios_not_containing")) {
        f.scenarios_not_containing = words("scenarios_not_containing", *c);
    }
    return f;
}

}  // namespace pb::limits::crowdsec
