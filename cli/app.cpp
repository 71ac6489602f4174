#include "cli/app.hpp"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <pwd.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include "cli/command_tree.hpp"
#include "cli/completion.hpp"
#include "cli/db_restore_command.hpp"
#include "cli/events_command.hpp"
#include "cli/remote.hpp"
#include "cli/render.hpp"
#include "cli/style.hpp"
#include "common/core/argv_scrub.hpp"
#include "common/core/build_info.hpp"
#include "common/core/command_line_config.hpp"
#include "common/core/config.hpp"
#include "common/core/error.hpp"
#include "common/core/log.hpp"
#include "common/docs/asyncapi.hpp"
#include "common/docs/man_page.hpp"
#include "common/docs/openapi.hpp"
#include "common/ops/validate.hpp"
#include "common/runtime/dispatcher.hpp"
#include "common/runtime/op_table.hpp"
#include "common/runtime/services.hpp"

namespace pb::cli {
namespace {

struct GlobalOptions {
    std::string config;
    std::string db;
    std::string redis;
    std::string server;
    std::string api_key;
    std::string output = "table";
    std::string log_level;
    std::string timeout;
    bool quiet = false;
    bool allow_insecure_permissions = false;
};

std::string local_actor() {
    const passwd* pw = getpwuid(geteuid());
    return "local:" + std::string(pw != nullptr ? pw->pw_name : std::to_string(geteuid()));
}

Config load_config(const GlobalOptions& g) {
    return Config::load(inputs_from_command_line(
        g.config,
        {{"db.url", g.db},
         {"redis.url", g.redis},
         {"cli.server", g.server},
         {"cli.api_key", g.api_key},
         {"log.level", g.log_level},
         {"cli.timeout", g.timeout},
         {"security.allow_insecure_permissions", g.allow_insecure_permissions ? "true" : ""}}));
}

int report(const Error& e, OutputFormat format) {
    if (format == OutputFormat::json) {
        std::cout << nlohmann::json{{"error", e.to_json()}}.dump(
                         2, ' ', false, nlohmann::json::error_handler_t::replace)
                  << '\n';
    }
    std::cerr << Style::for_fd(STDERR_FILENO).red("pbctl:") << ' ' << e.what() << '\n';
    return exit_code(e.code());
}

// The deepest command the user named (pbctl itself when none).
const CLI::App* deepest_parsed(const CLI::App& app) {
    for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
        if (sub->parsed()) {
            return deepest_parsed(*sub);
        }
    }
    return &app;
}

// A parse error, with the nearest command when a word was not one: a typo in a
// group or verb is the most common mistake.
int parse_failure(const CLI::App& app, const CLI::ParseError& e) {
    // An unknown word is left over on the deepest command named, whether CLI11
    // calls it an extra argument or a missing subcommand.
    {
        const CLI::App* at = deepest_parsed(app);
        std::vector<std::string> names;
        for (const CLI::App* sub :
             at->get_subcommands([](const CLI::App* a) { return !a->get_group().empty(); })) {
            names.push_back(sub->get_name());
        }
        // With fallthrough, CLI11 may leave the word on any command up the chain.
        std::vector<std::string> extras;
        for (const CLI::App* p = at; p != nullptr && extras.empty(); p = p->get_parent()) {
            extras = p->remaining();
        }
        if (!extras.empty() && !names.empty() && extras.front().rfind('-', 0) != 0) {
            const auto hint = nearest(extras.front(), names);
            std::string where = at->get_name();
            for (const CLI::App* p = at->get_parent(); p != nullptr; p = p->get_parent()) {
                where = p->get_name() + " " + where;
            }
            std::cerr << Style::for_fd(STDERR_FILENO).red("pbctl:") << " \"" << extras.front()
                      << "\" is not a command of " << where;
            if (!hint.empty()) {
                std::cerr << "; did you mean \"" << hint << "\"?";
            }
            std::cerr << "\nRun `" << where << " --help` for the list.\n";
            return 2;
        }
    }
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
}

// `pbctl __complete OP FIELD`: the FIELD of each row OP lists, one per line, read
// locally and only from a database that already exists (completion must not
// create one, wait for a daemon, or print errors into the command line).
int print_live_values(const GlobalOptions& g, const ops::OpTable& table, const std::string& name,
                      const std::string& field) {
    try {
        const ops::Op* op = table.find(name);
        const Config config = load_config(g);
        std::string url = config.get("db.url");
        if (op == nullptr || op->list_field.empty() || url.rfind("postgres", 0) == 0) {
            return 0;
        }
        if (url.rfind("sqlite://", 0) == 0) {
            url = url.substr(9);
        }
        if (!std::filesystem::exists(url)) {
            return 0;
        }
        log::init("off", "text");
        auto services = Services::open(config, SystemClock::instance(), {.pool_size = 1});
        const ops::Caller caller{local_actor(), {"admin"}};
        const auto result = runtime::dispatch(*services, *op, nlohmann::json::object(), caller,
                                              ops::NameStyle::flag);
        for (const auto& row : result.value(op->list_field, nlohmann::json::array())) {
            if (row.contains(field) && row[field].is_string()) {
                std::cout << row[field].get<std::string>() << '\n';
            }
        }
    } catch (const std::exception&) {
        // Completion offers nothing rather than an error.
    }
    return 0;
}

// `pbctl` alone: what it is and where to go next, in a screen.
void print_overview(const CLI::App& app) {
    const Style style = Style::for_fd(STDOUT_FILENO);
    std::cout << style.bold("pbctl " + std::string(build_info::version())) << ": "
              << "API keys, tokens, states, bans, limits, secrets and actions.\n\n"
              << "Usage: pbctl [options] GROUP VERB [ARGS]\n\n"
              << style.bold("Commands:") << '\n';
    for (const CLI::App* sub :
         app.get_subcommands([](const CLI::App* a) { return !a->get_group().empty(); })) {
        std::string name = sub->get_name();
        name.resize(std::max<std::size_t>(name.size(), 12), ' ');
        std::cout << "  " << name << sub->get_description() << '\n';
    }
    std::cout << "\nExamples:\n"
                 "  pbctl keys create --owner ci --perm deploy:write --expires 30d -q\n"
                 "  pbctl keys verify - <<<\"$KEY\"\n"
                 "  pbctl tokens issue --sub user-1 --ttl 15m -q\n\n"
                 "`pbctl GROUP --help` lists a group's verbs; `pbctl --help` the global "
                 "options; man pbctl has everything.\n";
}

// Hides secret values from a table on a terminal (JSON and -q are for scripts).
void mask_fields(const ops::Op& op, nlohmann::json& result) {
    for (const auto& name : op.masked_fields) {
        if (!result.is_object() || !result.contains(name)) {
            continue;
        }
        auto& v = result[name];
        if (v.is_object()) {
            for (auto& [k, item] : v.items()) {
                item = "<hidden: --show>";
            }
        } else {
            v = "<hidden: --show>";
        }
    }
}

// --all: the rows of every page, from `first` on, in one answer whose
// next_cursor is null. Each page starts at the previous one's next_cursor.
nlohmann::json follow_pages(const ops::Op& op, nlohmann::json args, nlohmann::json first,
                            const std::function<nlohmann::json(const nlohmann::json&)>& run_op) {
    auto result = std::move(first);
    while (result.contains("next_cursor") && result["next_cursor"].is_string()) {
        // A cursor that does not move would loop for ever: a broken server.
        if (args.contains("cursor") && args["cursor"] == result["next_cursor"]) {
            throw Error(ErrorCode::unavailable, "the server gave the same next_cursor twice");
        }
        args["cursor"] = result["next_cursor"];
        auto page = run_op(args);
        for (auto& row : page[op.list_field]) {
            result[op.list_field].push_back(std::move(row));
        }
        result["next_cursor"] = page.value("next_cursor", nlohmann::json());
    }
    return result;
}

}  // namespace

int run(int argc, char** argv) {
    CLI::App app{
        "pbctl: manage API keys, tokens, states, bans, limits, secrets and actions.\n"
        "Works on the database directly, or through pbd with --server."};
    app.name("pbctl");
    GlobalOptions g;
    app.add_option("--config", g.config, "A pb.yaml to read (env PB_CONFIG)");
    app.add_option("--db", g.db, "Database URL or SQLite path (env PB_DB)");
    app.add_option("--redis", g.redis,
                   "Redis URL shared with pbd: limits count there, changes are announced there "
                   "(env PB_REDIS)");
    app.add_option("--server", g.server, "Send the command to this pbd URL (env PB_SERVER)");
    app.add_option("--api-key", g.api_key,
                   "API key for --server (prefer env PB_API_KEY: arguments show in ps)");
    app.add_option("--timeout", g.timeout, "How long to wait for pbd (env PB_TIMEOUT)");
    app.add_option("-o,--output", g.output, "Output format (csv: the rows of a list)")
        ->check(CLI::IsMember({"table", "json", "csv"}));
    app.add_flag("-q,--quiet", g.quiet, "Print only the one value a script wants");
    app.add_option("--log-level", g.log_level, "trace|debug|info|warn|error|off");
    app.add_flag("--allow-insecure-permissions", g.allow_insecure_permissions,
                 "Accept a database or master key that other users may read "
                 "(env PB_ALLOW_INSECURE_PERMISSIONS)");
    app.set_version_flag("--version", "pbctl " + build_info::summary());
    app.fallthrough();

    const auto& table = runtime::op_table();
    CommandTree tree(app, table);
    std::string shell;
    auto* completion = app.add_subcommand("completion", "Print a shell completion script");
    completion->add_option("shell", shell, "bash, zsh or fish")
        ->required()
        ->check(CLI::IsMember({"bash", "zsh", "fish"}));
    completion->footer(
        "Load it with: source <(pbctl completion bash), or save it where your shell looks "
        "(the .deb installs all three).");
    auto* openapi = app.add_subcommand(
        "openapi",
        "Print pbd's HTTP API as an OpenAPI 3.1 document (what GET /openapi.json "
        "answers), made from the op table: no database, no server");
    openapi->footer(
        "Routes, parameters, request and response schemas, errors and examples of every op. "
        "Feed it to a client generator, e.g.: pbctl openapi > pbd.json && npx "
        "openapi-typescript pbd.json -o pbd.ts");
    auto* asyncapi = app.add_subcommand(
        "asyncapi",
        "Print pbd's WebSocket API as an AsyncAPI 3.0 document (what GET /asyncapi.json "
        "answers), made from the op table: no database, no server");
    asyncapi->footer(
        "The channel /ws, a request and an answer message for every op a socket may send "
        "(the table's ops and the WebSocket-only ones: authenticate, subscribe, rooms, ...), "
        "the error frame and the events and room messages pbd pushes.");
    // Writes the manual pages; hidden (no group): the build runs it, people read man.
    std::string page;
    auto* man = app.add_subcommand("__man", "Print a manual page in roff")->group("");
    // Live values for shell completion (state ids, action names); hidden.
    std::vector<std::string> complete_args;
    auto* complete =
        app.add_subcommand("__complete", "Print live values for completion")->group("");
    complete->add_option("op_and_field", complete_args)->expected(2)->required();
    man->add_option("page", page)->required()->check(CLI::IsMember({"pbctl.1", "pb.yaml.5"}));
    StreamCommands streams(app);
    RestoreCommand restore(app);
    try {
        app.parse(argc, argv);
        // Passwords in --db or --redis URLs and --api-key would show in ps
        // for as long as the command runs (pbctl events tail: indefinitely).
        hide_secret_arguments(argc, argv, {"--api-key"});
    } catch (const CLI::ParseError& e) {
        return parse_failure(app, e);
    }
    if (complete->parsed()) {
        return print_live_values(g, table, complete_args[0], complete_args[1]);
    }
    if (openapi->parsed()) {
        std::cout << docs::openapi_document(table, build_info::version()).dump(2) << '\n';
        return 0;
    }
    if (asyncapi->parsed()) {
        std::cout << docs::asyncapi_document(table, build_info::version()).dump(2) << '\n';
        return 0;
    }
    if (completion->parsed() || man->parsed()) {
        const auto model = docs::describe(app, [&](const CLI::Option& o) -> docs::OptionHints {
            if (o.check_name("--output")) {
                return {.choices = {"table", "json", "csv"}};
            }
            if (o.check_name("--log-level")) {
                return {.choices = {"trace", "debug", "info", "warn", "error", "off"}};
            }
            if (o.check_name("--config") || o.check_name("--db")) {
                return {.file = true};
            }
            if (o.check_name("shell")) {
                return {.choices = {"bash", "zsh", "fish"}};
            }
            return tree.hints(o);
        });
        if (completion->parsed()) {
            std::cout << completion_script(shell, model);
        } else {
            std::cout << (page == "pbctl.1" ? docs::pbctl_man_page(model, PB_VERSION)
                                            : docs::pb_yaml_man_page(PB_VERSION));
        }
        return 0;
    }
    const ops::Op* op = tree.selected();
    if (op == nullptr && (streams.selected() || restore.selected())) {
        const auto format = g.quiet              ? OutputFormat::quiet
                            : g.output == "json" ? OutputFormat::json
                                                 : OutputFormat::table;
        try {
            const Config config = load_config(g);
            const bool level_set = config.explain("log.level")["source"] != "default";
            log::init(level_set ? config.get("log.level") : "warn", "text");
            return restore.selected() ? restore.run(config, format) : streams.run(config);
        } catch (const Error& e) {
            return report(e, format);
        } catch (const std::exception& e) {
            return report(Error(ErrorCode::internal, e.what()), format);
        }
    }
    if (op == nullptr) {
        print_overview(app);
        return 0;
    }
    const auto format = g.quiet              ? OutputFormat::quiet
                        : g.output == "json" ? OutputFormat::json
                        : g.output == "csv"  ? OutputFormat::csv
                                             : OutputFormat::table;
    try {
        if (format == OutputFormat::csv && !csv_possible(*op)) {
            // Refused before the op runs: a change must not happen unprinted.
            throw Error(ErrorCode::invalid_argument,
                        "-o csv: only for commands that list rows; this one does not (use -o json)",
                        {{"param", "output"}});
        }
        const Config config = load_config(g);
        // pbctl prints results, not logs: stay quiet unless asked.
        const bool level_set = config.explain("log.level")["source"] != "default";
        log::init(level_set ? config.get("log.level") : "warn", "text");
        for (const auto& w : config.warnings()) {
            log::get("config")->warn("{}", w);
        }
        // A param read from a file or stdin is held to what pbd would accept as a body.
        const auto max_input =
            std::clamp<std::int64_t>(config.get_int("server.max_body"), 1, std::int64_t{1} << 32);
        auto raw = tree.collect_args(static_cast<std::size_t>(max_input));
        const auto& services_clock = SystemClock::instance();
        nlohmann::json result;
        const auto& server = config.get("cli.server");
        std::unique_ptr<Services> services;
        const ops::Caller caller{local_actor(), {"admin"}};
        // pbctl's conveniences (loose text, CliOnly params) become the JSON
        // form here, in both modes: pbd and dispatch() take only that.
        auto run_op = [&](const nlohmann::json& given) {
            auto args = ops::validate_args(*op, given, services_clock.now(), ops::NameStyle::flag,
                                           ops::Surface::cli);
            if (op->from_cli) {
                args = op->from_cli(args);
            }
            if (!server.empty()) {
                return call_remote(server, config.get("cli.api_key"),
                                   config.get_duration_ms("cli.timeout"), *op, args);
            }
            if (!services) {
                // On the database, rate limits count in it: runs share them.
                services =
                    Services::open(config, services_clock,
                                   {.pool_size = 1, .counters = Services::Counters::database});
            }
            return runtime::dispatch(*services, *op, args, caller, ops::NameStyle::flag);
        };
        result = run_op(raw);
        if (tree.all_pages_requested()) {
            result = follow_pages(*op, raw, std::move(result), run_op);
        } else if (const auto more = result.find("next_cursor");
                   more != result.end() && more->is_string()) {
            // Never a silent cut: the rest is one flag away.
            std::cerr << "pbctl: more " << op->list_field << " follow: pass --all, or --cursor "
                      << more->get<std::string>() << " for the next page\n";
        }
        if (format == OutputFormat::table && !raw.value("show", false)) {
            mask_fields(*op, result);
        }
        render(std::cout, *op, result, format, Style::for_fd(STDOUT_FILENO));
        if (tree.exit_status_requested() && result.contains(op->exit_status_field) &&
            result[op->exit_status_field].is_number_integer()) {
            return result[op->exit_status_field].get<int>();
        }
        if (!op->verdict_field.empty() && result.value(op->verdict_field, true) == false) {
            std::cerr << "pbctl: " << op->name << ": "
                      << result.value(op->verdict_reason_field, std::string("not valid")) << '\n';
            return exit_code(op->verdict_code);
        }
        return 0;
    } catch (const Error& e) {
        return report(e, format);
    } catch (const nlohmann::json::exception& e) {
        // A library's text ("[json.exception.type_error.316] …") is no message for people.
        log::get("cli")->debug("{}", e.what());
        return report(Error(ErrorCode::internal, "internal error: unexpected JSON data"), format);
    } catch (const std::exception& e) {
        return report(Error(ErrorCode::internal, e.what()), format);
    }
}

}  // namespace pb::cli
