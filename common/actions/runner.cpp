#include "common/actions/runner.hpp"

#include <cstdlib>

#include "common/actions/args.hpp"
#include "common/actions/catalog.hpp"
#include "common/actions/spawn.hpp"
#include "common/actions/template.hpp"
#include "common/core/error.hpp"
#include "common/core/log.hpp"
#include "common/events/audit_log.hpp"
#include "common/events/outbox.hpp"
#include "common/ops/schema.hpp"

extern char** environ;

namespace pb::actions {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::string_view k_default_path = "/usr/local/bin:/usr/bin:/bin";

// The record of a run or a refusal: an audit row and, for a run, its event,
// committed together. Never throws: a failed record is logged.
void record(ops::ServiceRegistry& s, const Action& action, const ops::Caller& caller,
            const json& args, std::string_view outcome, const json* ran) {
    log::get("audit")->info("op=actions.run actor={} target={} outcome={}", caller.actor,
                            action.name, outcome);
    try {
        s.service<store::Store>().transaction([&](store::Connection& c) {
            s.service<events::AuditLog>().append(
                c,
                events::AuditRecord{caller.actor, "actions.run", action.name, std::string(outcome),
                                    args.dump(-1, ' ', false, json::error_handler_t::replace)});
            if (ran != nullptr) {
                json data{{"action", action.name}, {"actor", caller.actor}, {"args", args}};
                for (const char* k : {"status", "exit_code", "duration_ms", "truncated", "error"}) {
                    if (ran->contains(k)) {
                        data[k] = (*ran)[k];
                    }
                }
                events::append(c, "actions/" + action.name, "action." + std::string(outcome), data,
                               s.clock().now());
            }
        });
    } catch (const std::exception& e) {
        log::get("audit")->error("audit record for action {} not written: {}", action.name,
                                 e.what());
    }
}

// What an unvalidated argument object may show: known secrets redacted,
// unknown names not shown at all (a misspelt secret stays secret).
json shown_raw(const Action& action, const json& raw) {
    json out = json::object();
    if (!raw.is_object()) {
        return out;
    }
    for (const auto& [k, v] : raw.items()) {
        const auto* p = action.find_param(k);
        out[k] = p == nullptr ? json("<unknown>") : p->secret ? json("<redacted>") : v;
    }
    return out;
}

std::string env_or(const char* name, std::string_view fallback) {
    const char* v = std::getenv(name);
    return v != nullptr ? std::string(v) : std::string(fallback);
}

fs::path beside(const Action& action, const std::string& p) {
    const fs::path path = p;
    auto out = path.is_absolute() ? path : (action.file.parent_path() / path).lexically_normal();
    return out.has_filename() ? out : out.parent_path();  // "dir/" from "." -> "dir"
}

struct Prepared {
    std::string program;
    std::vector<std::string> argv;
    std::vector<std::string> env;
    std::string cwd;
};

Prepared prepare_command(const Action& action, const json& values) {
    const auto& cmd = *action.command;
    Prepared p;
    p.argv = render_argv(action, values, Reveal::values);
    // Nothing of pb's environment reaches the command but PATH and the names
    // the action lists: pbd's own settings (PB_*, keys) must not leak.
    std::map<std::string, std::string> env{{"PATH", env_or("PATH", k_default_path)}};
    for (const auto& name : cmd.inherit_env) {
        if (const char* v = std::getenv(name.c_str())) {
            env[name] = v;
        }
    }
    for (auto& [k, v] : render_env(action, values, Reveal::values)) {
        env[k] = std::move(v);
    }
    for (const auto& [k, v] : env) {
        p.env.push_back(k + "=" + v);
    }
    const auto& program = cmd.argv.front();
    const auto looked_up = program.find('/') != std::string::npos
                               ? find_executable(beside(action, program).string(), env["PATH"])
                               : find_executable(program, env["PATH"]);
    if (looked_up.empty()) {
        throw Error(
            ErrorCode::unavailable,
            "action " + action.name + ": executable \"" + program +
                "\" not found or not executable" +
                (program.find('/') == std::string::npos ? " (searched PATH=" + env["PATH"] + ")"
                                                        : std::string()),
            {{"action", action.name}, {"program", program}});
    }
    p.program = looked_up;
    p.cwd = beside(action, cmd.cwd.empty() ? "." : cmd.cwd).string();
    return p;
}

json run_op(ops::ServiceRegistry& s, const Action& action, const json& values,
            const ops::Caller& caller, RunMode mode, const json& shown) {
    const auto& host = s.service<Catalog>().host();
    const auto* op = host.table().find(action.op->op);
    if (op == nullptr) {
        throw Error(ErrorCode::internal, "action " + action.name + ": no op " + action.op->op);
    }
    if (mode == RunMode::dry_run) {
        record(s, action, caller, shown, "dry_run", nullptr);
        return json{{"action", action.name},
                    {"dry_run", true},
                    {"op", op->name},
                    {"args", render_op_args(action, values, Reveal::redacted)}};
    }
    const auto start = std::chrono::steady_clock::now();
    auto elapsed = [&] {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - start)
            .count();
    };
    try {
        auto result = host.dispatch(s, *op, render_op_args(action, values, Reveal::values), caller);
        json out{{"action", action.name}, {"status", "succeeded"},
                 {"exit_code", 0},        {"stdout", ""},
                 {"stderr", ""},          {"duration_ms", elapsed()},
                 {"truncated", false},    {"ok", true},
                 {"result", result}};
        record(s, action, caller, shown, "succeeded", &out);
        return out;
    } catch (const Error& e) {
        const json failed{{"status", "failed"},
                          {"duration_ms", elapsed()},
                          {"error", std::string(to_string(e.code()))}};
        record(s, action, caller, shown, "failed", &failed);
        throw;
    }
}

json run_command(ops::ServiceRegistry& s, const Action& action, const json& values,
                 const ops::Caller& caller, RunMode mode, const json& shown) {
    const auto& cmd = *action.command;
    Prepared prepared;
    try {
        prepared = prepare_command(action, values);
    } catch (const Error& e) {
        record(s, action, caller, shown, to_string(e.code()), nullptr);
        throw;
    }
    if (mode == RunMode::dry_run) {
        record(s, action, caller, shown, "dry_run", nullptr);
        json env = json::object();
        for (const auto& [k, v] : render_env(action, values, Reveal::redacted)) {
            env[k] = v;
        }
        return json{{"action", action.name},
                    {"dry_run", true},
                    {"program", prepared.program},
                    {"argv", render_argv(action, values, Reveal::redacted)},
                    {"cwd", prepared.cwd},
                    {"env", env},
                    {"inherit_env", cmd.inherit_env},
                    {"timeout_ms", cmd.timeout_ms}};
    }
    auto slot = s.service<Catalog>().acquire();
    const auto r = spawn_and_wait(SpawnRequest{
        .program = prepared.program,
        .argv = std::move(prepared.argv),
        .env = std::move(prepared.env),
        .cwd = prepared.cwd,
        .timeout = std::chrono::milliseconds(cmd.timeout_ms),
        .kill_grace = s.service<Catalog>().settings().kill_grace,
        .max_output = cmd.max_output,
    });
    const std::string status = r.status == SpawnStatus::timed_out ? "timed_out"
                               : r.exit_code == 0                 ? "succeeded"
                                                                  : "failed";
    json out{{"action", action.name},    {"status", status},
             {"exit_code", r.exit_code}, {"stdout", r.out},
             {"stderr", r.err},          {"duration_ms", r.duration_ms},
             {"truncated", r.truncated}, {"ok", status == "succeeded"}};
    if (r.signal != 0) {
        out["signal"] = r.signal;
    }
    record(s, action, caller, shown, status, &out);
    return out;
}

}  // namespace

json run_schema() {
    using namespace ops::schema;
    return named("ActionRun",
                 object({{"action", string()},
                         {"status", optional(choice({"succeeded", "failed", "timed_out"}))},
                         {"exit_code", optional(integer())},
                         {"signal", optional(integer())},
                         {"stdout", optional(string())},
                         {"stderr", optional(string())},
                         {"duration_ms", optional(integer())},
                         {"truncated", optional(boolean())},
                         {"ok", optional(boolean())},
                         {"result", optional(any("An op action: the op's answer"))},
                         {"dry_run", optional(boolean())},
                         {"op", optional(string())},
                         {"args", optional(free_object())},
                         {"program", optional(string())},
                         {"argv", optional(array(string()))},
                         {"cwd", optional(string())},
                         {"env", optional(free_object())},
                         {"inherit_env", optional(any())},
                         {"timeout_ms", optional(integer())}},
                        "A run (status, exit_code, …) or, with dry_run, what would run"));
}

json run_action(ops::ServiceRegistry& s, const Action& action, const json& raw_values,
                const ops::Caller& caller, RunMode mode) {
    json values;
    try {
        if (!ops::has_permission(caller.permissions, action.permission)) {
            throw Error(
                ErrorCode::permission_denied,
                "action " + action.name + " needs the permission \"" + action.permission + "\"",
                {{"permission", action.permission}, {"action", action.name}});
        }
        values = validate_values(action, raw_values);
        // Rendering refuses option-like values; so a refusal is audited as one.
        if (action.command) {
            render_argv(action, values, Reveal::values);
        }
    } catch (const Error& e) {
        record(s, action, caller, shown_raw(action, raw_values), to_string(e.code()), nullptr);
        throw;
    }
    const auto shown = redact_values(action, values);
    return action.op ? run_op(s, action, values, caller, mode, shown)
                     : run_command(s, action, values, caller, mode, shown);
}

}  // namespace pb::actions
