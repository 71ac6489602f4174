#pragma once

#include <functional>
#include <string>
#include <vector>

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace pb::docs {

// pbctl's command line as plain data, read off the parser once it is built:
// completions and the man page are generated from it, so they cannot drift
// from the commands that exist.
struct FlagSpec {
    std::vector<std::string> names;    // "--output", "-o"
    std::string value_name;            // empty for a flag without a value
    std::vector<std::string> choices;  // the values it accepts, if limited
    bool file = false;                 // its value may be a path
    std::string help;
};

struct CommandSpec {
    std::string name;               // "create"
    std::vector<std::string> path;  // {"keys", "create"}; empty for pbctl itself
    std::string summary;
    std::vector<std::string> positionals;                      // "ID", "TOKEN"
    std::vector<std::vector<std::string>> positional_choices;  // per positional, if limited
    // Per positional: the hidden `pbctl __complete` arguments that list its
    // live values (e.g. {"states.list", "id"}), or empty.
    std::vector<std::vector<std::string>> positional_live;
    std::vector<FlagSpec> flags;
    std::vector<CommandSpec> commands;
    std::string footer;
};

// What an option accepts beyond its text: choices, and whether it takes a path.
struct OptionHints {
    std::vector<std::string> choices;
    bool file = false;
    std::vector<std::string> live;  // `pbctl __complete` arguments for live values
};
using HintsFor = std::function<OptionHints(const CLI::Option&)>;

CommandSpec describe(const CLI::App& app, const HintsFor& hints);

// Every command of the tree, depth first, the root included.
void for_each_command(const CommandSpec& root, const std::function<void(const CommandSpec&)>& fn);

}  // namespace pb::docs
