#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace pb::actions {

// The type of an action parameter, and so the canonical JSON form of its value:
//   string, enumeration, path -> string (a path normalised and inside its roots)
//   integer -> integer; number -> floating point; boolean -> bool
//   duration -> integer milliseconds; list -> array of strings
enum class ParamKind { string, integer, number, boolean, enumeration, duration, list, path };

// The YAML spelling of a kind ("enum" for enumeration).
std::string_view to_string(ParamKind kind);
std::optional<ParamKind> param_kind_from_string(std::string_view text);

// One declared parameter of an action.
struct ParamSpec {
    std::string name;
    ParamKind kind = ParamKind::string;
    std::string help;
    bool required = false;
    nlohmann::json fallback = nullptr;  // canonical default; null = none
    std::string pattern;                // full-match regex of strings, list items, paths
    std::optional<std::regex> pattern_re;
    // Bounds: the value of an integer, number or duration (ms); the length of a
    // string; the item count of a list.
    std::optional<double> min;
    std::optional<double> max;
    std::vector<std::string> values;           // the allowed values of an enum
    std::vector<std::filesystem::path> roots;  // the folders a path must stay inside
    bool secret = false;                       // redacted in audit, events, dry runs and errors
    int line = 0;
};

// What an action runs: an op of the op table, or a command (argv, no shell).
struct OpRun {
    std::string op;
    nlohmann::json args = nlohmann::json::object();  // templates: strings may hold {{param}}
};

struct CommandRun {
    std::vector<std::string> argv;  // templates; argv[0] is the program
    std::int64_t timeout_ms = 60'000;
    std::string cwd;                         // empty: the folder of the action's file
    std::map<std::string, std::string> env;  // NAME -> template
    std::vector<std::string> inherit_env;    // names taken from pb's own environment
    std::size_t max_output = 1 << 20;        // bytes kept of stdout and of stderr each
};

// One action, as loaded from its YAML file.
struct Action {
    std::string name;
    std::string description;
    std::string permission;
    std::vector<ParamSpec> params;
    std::optional<OpRun> op;
    std::optional<CommandRun> command;
    std::filesystem::path file;  // where it was declared
    int line = 0;

    const ParamSpec* find_param(std::string_view n) const;
    // {"name","description","permission","file","params":[...],"run":{...}} for
    // `actions show`; never holds a secret default.
    nlohmann::json to_json() const;
    // The JSON Schema of to_json() ("Action").
    static nlohmann::json schema();
};

}  // namespace pb::actions
