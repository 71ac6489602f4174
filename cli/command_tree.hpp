#pragma once

#include <deque>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "common/docs/command_model.hpp"
#include "common/ops/registry.hpp"

namespace pb::cli {

// pbctl's subcommands, built from the op table: one group command per op group
// and one verb under it per op, with each param as a positional or a flag and
// the param's help. Nothing about any op is written here.
class CommandTree {
  public:
    CommandTree(CLI::App& app, const ops::OpTable& table);

    // The op whose command was given, after app.parse(); nullptr if none.
    const ops::Op* selected() const;
    // The arguments the user gave for the selected op, as raw JSON (strings,
    // lists, booleans); a JSON param's text is read as ParamInput says (inline,
    // path, @path, -), a secret given as "-" from stdin; no file or stdin may
    // hold more than `max_input_bytes`. Throws Error(invalid_argument).
    nlohmann::json collect_args(std::size_t max_input_bytes) const;
    // What an op's option accepts (choices, a path), for completions and docs.
    docs::OptionHints hints(const CLI::Option& option) const;
    // True when --exit-status was given (ops with an exit_status_field only).
    bool exit_status_requested() const;
    // True when --all was given (paged lists only: ops with a cursor param).
    bool all_pages_requested() const;

  private:
    struct Value {
        const ops::Param* param = nullptr;
        CLI::Option* option = nullptr;
        std::string text;
        std::vector<std::string> list;
        bool flag = false;
    };
    struct Command {
        const ops::Op* op = nullptr;
        CLI::App* app = nullptr;
        std::deque<Value> values;
        bool exit_status = false;
        bool all_pages = false;
    };
    std::deque<Command> m_commands;
};

}  // namespace pb::cli
