#include "common/actions/ops.hpp"

#include "common/actions/args.hpp"
#include "common/actions/catalog.hpp"
#include "common/actions/loader.hpp"
#include "common/actions/runner.hpp"
#include "common/core/error.hpp"
#include "common/ops/schema.hpp"

namespace pb::actions {
namespace {

using nlohmann::json;
using namespace pb::ops;

Param name_param() {
    return Param{.name = "name",
                 .help = "The action's name",
                 .required = Required::yes,
                 .positional = Positional::yes,
                 .values_from = {"actions.list", "name"}};
}

}  // namespace

void register_actions_ops(OpTable& t, const OpHost& host) {
    t.add(Op{
        .name = "actions.list",
        .summary = "List the actions loaded from actions.paths, and the files skipped",
        .permission = "actions:read",
        .route = {"GET", "/v1/actions"},
        .handler =
            [](Context& ctx, const json&) {
                const auto snap = ctx.service<Catalog>().snapshot();
                json rows = json::array();
                for (const auto& a : snap->actions) {
                    rows.push_back({{"name", a.name},
                                    {"description", a.description},
                                    {"permission", a.permission},
                                    {"file", a.file.string()}});
                }
                json problems = json::array();
                for (const auto& p : snap->problems) {
                    problems.push_back(p.to_string());
                }
                return json{{"actions", rows}, {"problems", problems}};
            },
        .quiet_field = "name",
        .columns = {"name", "description", "permission", "file"},
        .list_field = "actions",
        .response = ops::schema::object(
            {{"actions",
              ops::schema::array(ops::schema::object({{"name", ops::schema::string()},
                                                      {"description", ops::schema::string()},
                                                      {"permission", ops::schema::string()},
                                                      {"file", ops::schema::string()}}))},
             {"problems", ops::schema::array(ops::schema::string(), "Files skipped, and why")}}),
        .examples = {{"The loaded actions",
                      json::object(),
                      {{"actions",
                        {{{"name", "disk-usage"},
                          {"description", "Show how much disk space a folder uses"},
                          {"permission", "admin"},
                          {"file", "/etc/pb/actions/disk-usage.yaml"}}}},
                       {"problems", json::array()}}}},
    });
    t.add(Op{
        .name = "actions.show",
        .summary = "Show an action: its parameters with types and defaults, and what it runs",
        .params = {name_param()},
        .permission = "actions:read",
        .route = {"GET", "/v1/actions/{name}"},
        .handler =
            [](Context& ctx, const json& a) {
                return ctx.service<Catalog>().find(a["name"].get<std::string>())->to_json();
            },
        .response = Action::schema(),
        .errors = {ErrorCode::not_found},
        .examples = {{"One action",
                      {{"name", "disk-usage"}},
                      {{"name", "disk-usage"},
                       {"description", "Show how much disk space a folder uses"},
                       {"permission", "admin"},
                       {"file", "/etc/pb/actions/disk-usage.yaml"},
                       {"params",
                        {{{"name", "path"},
                          {"type", "path"},
                          {"help", "The folder to measure"},
                          {"required", false},
                          {"default", "/var/lib/pb"},
                          {"secret", false},
                          {"roots", {"/var/lib/pb", "/var/backups/pb"}}}}},
                       {"run",
                        {{"command", {"du", "-s", "-h", "--", "{{path}}"}},
                         {"timeout", "30s"},
                         {"cwd", ""},
                         {"env", {{"LC_ALL", "C"}}},
                         {"inherit_env", json::array()},
                         {"max_output", 65536}}}}}},
    });
    t.add(Op{
        .name = "actions.run",
        .summary = "Run an action; needs the permission the action declares. A command that "
                   "fails is an answer (ok false, with its exit code), not an error",
        .params =
            {
                name_param(),
                Param{.name = "arg",
                      .type = ParamType::string_list,
                      .help = "NAME=VALUE for a parameter of the action, merged into "
                              "--args-json (repeatable; a name given twice makes a list)",
                      .cli_only = CliOnly::yes},
                Param{.name = "args",
                      .type = ParamType::json_object,
                      .help = "The action's parameters as a JSON object",
                      .fallback = json::object(),
                      .flag = "args-json"},
                Param{.name = "dry_run",
                      .type = ParamType::boolean,
                      .help = "Check the arguments and show what would run; run nothing",
                      .fallback = false},
            },
        // Only to see that the action exists: the run itself is checked against
        // the action's own permission and audited by the runner, which knows the
        // action's secret parameters (the dispatcher only knows this op's).
        .permission = "actions:read",
        .route = {"POST", "/v1/actions/{name}/run"},
        .handler =
            [](Context& ctx, const json& a) {
                const auto action = ctx.service<Catalog>().find(a["name"].get<std::string>());
                return run_action(ctx.services, *action, a["args"], ctx.caller,
                                  a["dry_run"].get<bool>() ? RunMode::dry_run : RunMode::run);
            },
        .quiet_field = "stdout",
        .verdict_field = "ok",
        .verdict_reason_field = "status",
        .verdict_code = ErrorCode::internal,
        .exit_status_field = "exit_code",
        .audit_target = "name",
        // pbctl's --arg words become members of `args`, all pbd takes.
        .from_cli =
            [](const json& a) {
                json out = a;
                out.erase("arg");
                merge_pairs(a.value("arg", std::vector<std::string>()), out["args"]);
                return out;
            },
        .response = run_schema(),
        .errors = {ErrorCode::not_found, ErrorCode::conflict},
        .examples = {{"Run a command action",
                      {{"name", "disk-usage"}, {"args", {{"path", "/var/lib/pb"}}}},
                      {{"action", "disk-usage"},
                       {"status", "succeeded"},
                       {"exit_code", 0},
                       {"stdout", "1.2M\t/var/lib/pb\n"},
                       {"stderr", ""},
                       {"duration_ms", 12},
                       {"truncated", false},
                       {"ok", true}}}},
    });
    t.add(Op{
        .name = "actions.lint",
        .summary = "Check action files (folders or files, read where the op runs)",
        .params = {Param{.name = "paths",
                         .type = ParamType::string_list,
                         .help = "Folders of action files (*.yaml, *.yml) or single files",
                         .required = Required::yes,
                         .positional = Positional::yes}},
        .permission = "admin",
        .route = {"POST", "/v1/actions/lint"},
        .handler =
            [table = host.table](Context&, const json& a) {
                std::vector<std::filesystem::path> paths;
                for (const auto& p : a["paths"]) {
                    paths.emplace_back(p.get<std::string>());
                }
                return lint(paths, &table());
            },
        .verdict_field = "ok",
        .verdict_reason_field = "summary",
        .verdict_code = ErrorCode::invalid_argument,
        .columns = {"where", "status", "message"},
        .list_field = "files",
        .response = lint_schema(),
        .examples = {{"Check a folder",
                      {{"paths", {"/etc/pb/actions"}}},
                      {{"ok", true},
                       {"summary", "1 file(s) checked, 0 problem(s)"},
                       {"files",
                        {{{"where", "/etc/pb/actions/disk-usage.yaml"},
                          {"file", "/etc/pb/actions/disk-usage.yaml"},
                          {"line", nullptr},
                          {"status", "ok"},
                          {"message", "action disk-usage"}}}}}}},
    });
}

}  // namespace pb::actions
