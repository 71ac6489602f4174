#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/core/rate.hpp"

namespace pb::keys {

// The most named limits one key or identity carries.
inline constexpr std::size_t k_max_named_limits = 16;

// One named limit of a key or an identity: "requests" at 100/min, counted in
// its own GCRA bucket (the key's, or the identity's, shared by its keys).
// `auto_` limits are spent (cost 1) by every verify that names no limit, and
// by every request the key makes to pbd; `shadow` limits count and report
// (shadow_limited) but never refuse.
struct NamedLimit {
    std::string name;
    std::string rate;  // as given: RATE[,BURST]
    Rate policy;
    bool auto_ = false;
    bool shadow = false;

    // {"name","rate","auto","shadow"}
    nlohmann::json to_json() const;
    // The JSON Schema of to_json() (named "NamedLimit").
    static nlohmann::json schema();
    // The schema of a `limits` param: an array of such objects (auto and
    // shadow optional, false by default).
    static nlohmann::json param_schema();
};

// The named limits of `value`: a JSON array of {"name","rate","auto"?,
// "shadow"?} objects or of pbctl's words NAME=RATE[:auto][:shadow]
// ("requests=100/min:auto", "tokens=10000/day,500:shadow"). Names are 1 to 64
// of [a-z0-9_.-], unique; rates as a key's rate_limit. Error(invalid_argument,
// param `what`) on anything else. The result is sorted by name.
std::vector<NamedLimit> parse_named_limits(const nlohmann::json& value, std::string_view what);
// pbctl's word NAME=RATE[:auto][:shadow] as its JSON object.
nlohmann::json named_limit_word(std::string_view word, std::string_view what);
// The stored text of `limits` (a JSON array), and back (stored text is trusted
// to parse; a bad one is Error(internal)).
std::string stored_limits(const std::vector<NamedLimit>& limits);
std::vector<NamedLimit> limits_from_stored(std::string_view text);
nlohmann::json limits_json(const std::vector<NamedLimit>& limits);

// What a verify spends of one named limit: keys.verify's
// `limits: [{"name":"tokens","cost":250}]`.
struct LimitCost {
    std::string name;
    std::int64_t cost = 1;
};

// The largest cost one verify may ask of a limit; a cost is also refused
// above the burst of the limit it names (it could never pass).
inline constexpr std::int64_t k_max_limit_cost = 1'000'000'000;

// keys.verify's `limits` (an array of {"name","cost"?}); cost defaults to 1
// and must be 1..k_max_limit_cost; a name at most once. Error(invalid_argument,
// param "limits").
std::vector<LimitCost> parse_limit_costs(const nlohmann::json& value);
// pbctl's word NAME=COST (--cost tokens=250) as its JSON object.
nlohmann::json limit_cost_word(std::string_view word);

}  // namespace pb::keys

namespace pb::keys {

// pbctl's conveniences turned into the JSON form of the API (Op::from_cli):
// `--limit NAME=RATE[:auto][:shadow]` words appended to `limits`, which pbctl
// itself takes as a JSON text (--limits '[...]'); for keys.verify, `--cost
// NAME=COST` words appended to its `limits`. Error(invalid_argument).
nlohmann::json limits_from_cli(const nlohmann::json& args);
nlohmann::json costs_from_cli(const nlohmann::json& args);

}  // namespace pb::keys
