#include "cli/command_tree.hpp"

#include <map>

#include "cli/param_input.hpp"
#include "common/docs/command_line.hpp"
#include "common/ops/validate.hpp"

namespace pb::cli {
namespace {

// The op table's texts describe the call on every surface; how pbctl takes a
// value beyond its flag (stdin, files, words) is said here, for pbctl alone.
std::string help_text(const ops::Param& p) {
    std::string help = p.help;
    if (p.words == ops::FieldWords::yes) {
        help += " (NAME=VALUE words; VALUE - reads stdin, @FILE a file)";
    } else if (p.type == ops::ParamType::json_object) {
        help += " (JSON text, a file, @file or - for stdin)";
    } else if (p.secret == ops::Secret::yes && p.positional == ops::Positional::yes) {
        help += " (- reads it from stdin)";
    }
    if (!p.choices.empty()) {
        std::string list;
        for (const auto& c : p.choices) {
            list += (list.empty() ? "" : "|") + c;
        }
        help += " (" + list + ")";
    }
    if (!p.fallback.is_null() &&
        !(p.fallback.is_string() && p.fallback.get<std::string>().empty()) &&
        !p.fallback.is_array() && !p.fallback.is_object() && p.type != ops::ParamType::boolean) {
        help += " [default: " +
                (p.fallback.is_string() ? p.fallback.get<std::string>() : p.fallback.dump()) + "]";
    }
    return help;
}

}  // namespace

CommandTree::CommandTree(CLI::App& app, const ops::OpTable& table) {
    // "tokens.keys.list" becomes `pbctl tokens keys list`: every segment but the
    // last is a group command, created once.
    std::map<std::string, CLI::App*> groups;
    for (const auto& op : table.all()) {
        if (op.websocket_only()) {
            continue;  // a WebSocket session's own op: nothing pbctl could run
        }
        CLI::App* parent = &app;
        std::string path;
        const std::string cli_name = op.cli_path();
        std::string_view rest = cli_name;
        for (auto dot = rest.find('.'); dot != std::string_view::npos; dot = rest.find('.')) {
            const std::string segment(rest.substr(0, dot));
            path += (path.empty() ? "" : ".") + segment;
            auto& g = groups[path];
            if (g == nullptr) {
                g = parent->add_subcommand(segment, "Manage " + path);
                g->require_subcommand(1);
            }
            parent = g;
            rest.remove_prefix(dot + 1);
        }
        const std::string verb(rest);
        auto& cmd = m_commands.emplace_back();
        cmd.op = &op;
        cmd.app = parent->add_subcommand(verb, op.summary);
        std::string footer;
        if (!op.verdict_field.empty()) {
            footer += "Exits " + std::to_string(exit_code(op.verdict_code)) + " when " +
                      op.verdict_field + " is false (an answer, not an error).\n";
        }
        if (!op.cli_note.empty()) {
            footer += op.cli_note + "\n";
        }
        if (!op.permission.empty()) {
            footer += "Needs the permission \"" + op.permission + "\" through pbd.\n";
        }
        if (const auto examples = docs::examples_help(op); !examples.empty()) {
            footer += (footer.empty() ? "" : "\n") + examples;
        }
        if (!footer.empty()) {
            cmd.app->footer(footer);
        }
        for (const auto& p : op.params) {
            auto& v = cmd.values.emplace_back();
            v.param = &p;
            const auto label = ops::param_label(p, ops::NameStyle::flag);
            if (p.positional == ops::Positional::yes && p.type == ops::ParamType::string_list) {
                v.option = cmd.app->add_option(p.name, v.list, help_text(p));
                v.option->type_name("");
            } else if (p.words == ops::FieldWords::yes) {
                // NAME=VALUE words, the rest of the command line.
                v.option = cmd.app->add_option(p.name, v.list, help_text(p));
                v.option->type_name("NAME=VALUE");
            } else if (p.type == ops::ParamType::json_object) {
                v.option = p.positional == ops::Positional::yes
                               ? cmd.app->add_option(p.name, v.text, help_text(p))
                               : cmd.app->add_option(label, v.text, help_text(p));
                v.option->type_name("JSON|FILE|-");
            } else if (p.positional == ops::Positional::yes) {
                v.option = cmd.app->add_option(p.name, v.text, help_text(p));
                v.option->type_name("");
            } else if (p.type == ops::ParamType::boolean) {
                v.option = cmd.app->add_flag(label, v.flag, help_text(p));
            } else if (p.type == ops::ParamType::string_list) {
                v.option = cmd.app->add_option(label, v.list, help_text(p));
                v.option->type_name("TEXT")->allow_extra_args(false);
            } else {
                v.option = cmd.app->add_option(label, v.text, help_text(p));
            }
            if (p.required == ops::Required::yes) {
                v.option->required();
            }
        }
        if (!op.exit_status_field.empty()) {
            cmd.app->add_flag("--exit-status", cmd.exit_status,
                              "Exit with the " + op.exit_status_field +
                                  " of the result instead of pb's own status");
        }
        if (op.find_param("cursor") != nullptr && !op.list_field.empty()) {
            cmd.app->add_flag("--all", cmd.all_pages,
                              "Follow next_cursor and print every page (a large list is read "
                              "into memory first)");
        }
    }
}

const ops::Op* CommandTree::selected() const {
    for (const auto& c : m_commands) {
        if (c.app->parsed()) {
            return c.op;
        }
    }
    return nullptr;
}

nlohmann::json CommandTree::collect_args(std::size_t max_input_bytes) const {
    nlohmann::json args = nlohmann::json::object();
    ParamInput input(max_input_bytes);
    for (const auto& c : m_commands) {
        if (!c.app->parsed()) {
            continue;
        }
        for (const auto& v : c.values) {
            if (v.option->count() == 0) {
                continue;
            }
            const auto& p = *v.param;
            if (p.words == ops::FieldWords::yes) {
                args[p.name] = input.fields_from_words(p, v.list);
            } else if (p.type == ops::ParamType::json_object) {
                args[p.name] = input.json_text(p, v.text);
            } else if (p.type == ops::ParamType::boolean) {
                args[p.name] = v.flag;
            } else if (p.type == ops::ParamType::string_list) {
                args[p.name] = v.list;
            } else if (p.secret == ops::Secret::yes && v.text == "-") {
                args[p.name] = input.stdin_text(p);
            } else {
                args[p.name] = v.text;
            }
        }
    }
    return args;
}

docs::OptionHints CommandTree::hints(const CLI::Option& option) const {
    for (const auto& c : m_commands) {
        for (const auto& v : c.values) {
            if (v.option == &option) {
                const auto& [op, field] = v.param->values_from;
                return {.choices = v.param->choices,
                        .file = v.param->type == ops::ParamType::json_object &&
                                v.param->words == ops::FieldWords::no,
                        .live = op.empty() ? std::vector<std::string>{}
                                           : std::vector<std::string>{op, field}};
            }
        }
    }
    return {};
}

bool CommandTree::all_pages_requested() const {
    for (const auto& c : m_commands) {
        if (c.app->parsed()) {
            return c.all_pages;
        }
    }
    return false;
}

bool CommandTree::exit_status_requested() const {
    for (const auto& c : m_commands) {
        if (c.app->parsed()) {
            return c.exit_status;
        }
    }
    return false;
}

}  // namespace pb::cli
