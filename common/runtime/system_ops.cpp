#include <chrono>

#include "common/core/build_info.hpp"
#include "common/core/error.hpp"
#include "common/ops/schema.hpp"
#include "common/redis/client.hpp"
#include "common/runtime/op_table.hpp"
#include "common/runtime/reloadable.hpp"
#include "common/runtime/services.hpp"
#include "common/secrets/backend.hpp"
#include "common/store/migrations.hpp"

namespace pb::runtime {
namespace {

using nlohmann::json;
using namespace pb::ops;

json db_component(Services& s) {
    const auto start = std::chrono::steady_clock::now();
    try {
        s.store().transaction([](store::Connection& c) { c.query("SELECT 1"); },
                              store::TxMode::read);
        const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::steady_clock::now() - start)
                            .count();
        return {{"status", "ok"}, {"backend", s.store().backend()}, {"latency_ms", us / 1000.0}};
    } catch (const std::exception& e) {
        return {{"status", "unavailable"}, {"backend", s.store().backend()}, {"error", e.what()}};
    }
}

// Vault, when it holds the secrets (the local backend is the database).
json secrets_component(Services& s) {
    try {
        auto status = s.secrets().status();
        const bool ok = status.value("sealed", true) == false;
        return {{"status", ok ? "ok" : "unavailable"},
                {"backend", "vault"},
                {"sealed", status.value("sealed", true)},
                {"version", status.value("version", "")}};
    } catch (const std::exception& e) {
        return {{"status", "unavailable"}, {"backend", "vault"}, {"error", e.what()}};
    }
}

// Redis, when configured: reachability, round trip and server version.
json redis_component(Services& s) {
    auto out = s.redis()->health();
    out.erase("location");  // /health answers anyone: where Redis lives is not theirs
    return out;
}

// A setting as Config::explain() shows it (core knows no schemas: it is here).
json setting_schema() {
    using namespace ops::schema;
    return named("Setting", object({{"key", string()},
                                    {"value", string("<redacted> for a secret")},
                                    {"source", string("flag, env, file or default")},
                                    {"env", string()},
                                    {"default", string()},
                                    {"help", string()},
                                    {"origin", optional(string())}}));
}

json example_setting() {
    return {{"key", "server.listen"},      {"value", "127.0.0.1:8700"},
            {"source", "default"},         {"env", "PB_LISTEN"},
            {"default", "127.0.0.1:8700"}, {"help", "Address and port pbd listens on"}};
}

// store::schema_status() (the store layer knows no schemas: it is here).
json db_status_schema() {
    using namespace ops::schema;
    return named("DbStatus",
                 object({{"backend", choice({"sqlite", "postgresql"})},
                         {"location", string()},
                         {"schema_version", integer()},
                         {"latest_version", integer()},
                         {"pending", array(object({{"version", integer()}, {"name", string()}}))},
                         {"latency_ms", number()}},
                        "More fields per backend (pool use, file size)"));
}

json example_db_status() {
    return {{"backend", "sqlite"}, {"location", "/var/lib/pb/pb.db"}, {"schema_version", 9},
            {"latest_version", 9}, {"pending", json::array()},        {"latency_ms", 0.05}};
}

}  // namespace

void register_system_ops(OpTable& t) {
    t.add(Op{
        .name = "health",
        .summary = "Health of pb and of each component (database; Redis when configured; "
                   "Vault when it holds secrets)",
        .route = {"GET", "/health"},
        .handler =
            [](Context& ctx, const json&) {
                json components{{"db", db_component(ctx.service<Services>())}};
                if (ctx.service<Services>().redis() != nullptr) {
                    components["redis"] = redis_component(ctx.service<Services>());
                }
                if (ctx.service<Services>().config().get("secrets.backend") == "vault") {
                    components["secrets"] = secrets_component(ctx.service<Services>());
                }
                for (const auto& [name, c] : components.items()) {
                    if (c["status"] != "ok") {
                        throw Error(ErrorCode::unavailable, name + " is unavailable",
                                    {{"status", "unavailable"}, {"components", components}});
                    }
                }
                return json{{"status", "ok"}, {"version", PB_VERSION}, {"components", components}};
            },
        .quiet_field = "status",
        .response =
            [] {
                using namespace ops::schema;
                const auto component = object({{"status", choice({"ok", "unavailable"})},
                                               {"backend", optional(string())},
                                               {"latency_ms", optional(number())},
                                               {"error", optional(string())},
                                               {"sealed", optional(boolean())},
                                               {"version", optional(string())}},
                                              "Redis adds its version and mode");
                return object({{"status", choice({"ok"})},
                               {"version", string()},
                               {"components", object({{"db", component},
                                                      {"redis", optional(component)},
                                                      {"secrets", optional(component)}})}});
            }(),
        .examples = {{"All components up",
                      json::object(),
                      {{"status", "ok"},
                       {"version", "0.1.0"},
                       {"components",
                        {{"db",
                          {{"status", "ok"}, {"backend", "sqlite"}, {"latency_ms", 0.04}}}}}}}},
    });
    t.add(Op{
        .name = "version",
        .summary = "Version and build information",
        .route = {"GET", "/v1/version"},
        .handler =
            [](Context&, const json&) {
                return json{{"version", build_info::version()},
                            {"commit", build_info::commit()},
                            {"compiler", build_info::compiler()},
                            {"build_type", build_info::build_type()}};
            },
        .quiet_field = "version",
        .response = ops::schema::object({{"version", ops::schema::string()},
                                         {"commit", ops::schema::string()},
                                         {"compiler", ops::schema::string()},
                                         {"build_type", ops::schema::string()}}),
        .examples = {{"Build information",
                      json::object(),
                      {{"version", "0.1.0"},
                       {"commit", "fe29d55a1b2c"},
                       {"compiler", "GCC 12.2.0"},
                       {"build_type", "Release"}}}},
    });
    t.add(Op{
        .name = "db.migrate",
        .summary = "Apply pending schema migrations (also done automatically on start)",
        .permission = "admin",
        .mutates = Mutates::yes,
        .route = {"POST", "/v1/db/migrate"},
        .handler =
            [](Context& ctx, const json&) {
                auto applied = store::migrate(ctx.service<Services>().store(),
                                              ctx.service<Services>().clock());
                json out = store::schema_status(ctx.service<Services>().store());
                out["applied"] = applied;
                return out;
            },
        .response =
            [] {
                auto s = db_status_schema();
                s.erase("title");
                s["properties"]["applied"] =
                    ops::schema::array(ops::schema::integer(), "The versions applied now");
                s["required"].push_back("applied");
                return s;
            }(),
        .examples = {{"Nothing pending", json::object(),
                      [] {
                          auto j = example_db_status();
                          j["applied"] = json::array();
                          return j;
                      }()}},
    });
    t.add(Op{
        .name = "db.status",
        .summary = "Database backend, location, schema version and pool use",
        .permission = "admin",
        .route = {"GET", "/v1/db/status"},
        .handler =
            [](Context& ctx, const json&) {
                return store::schema_status(ctx.service<Services>().store());
            },
        .response = db_status_schema(),
        .examples = {{"An up-to-date SQLite database", json::object(), example_db_status()}},
    });
    t.add(Op{
        .name = "config.show",
        .summary = "Every setting with its value and where it came from (secrets redacted)",
        .permission = "admin",
        .route = {"GET", "/v1/config"},
        .handler =
            [](Context& ctx, const json&) {
                return json{{"settings", ctx.service<Services>().config().show()}};
            },
        .columns = {"key", "value", "source", "env"},
        .list_field = "settings",
        // It names where every sensitive setting comes from: audited.
        .audit_read = [](const json&) { return true; },
        .response = ops::schema::object({{"settings", ops::schema::array(setting_schema())}}),
        .examples = {{"Every setting", json::object(), {{"settings", {example_setting()}}}}},
    });
    t.add(Op{
        .name = "config.explain",
        .summary = "One setting: its value, which source won, its variable and default",
        .params = {Param{.name = "key",
                         .help = "A setting, e.g. server.listen",
                         .required = Required::yes,
                         .positional = Positional::yes}},
        .permission = "admin",
        .route = {"GET", "/v1/config/{key}"},
        .handler =
            [](Context& ctx, const json& a) {
                const auto key = a["key"].get<std::string>();
                if (find_config_key(key) == nullptr) {
                    throw Error(ErrorCode::not_found, "no setting \"" + key + "\"", {{"key", key}});
                }
                return ctx.service<Services>().config().explain(key);
            },
        .quiet_field = "value",
        .audit_target = "key",
        .audit_read =
            [](const json& a) {
                const auto* k = find_config_key(a.value("key", std::string()));
                return k != nullptr && k->sensitivity == Sensitivity::secret;
            },
        .response = setting_schema(),
        .errors = {ErrorCode::not_found},
        .examples = {{"One setting", {{"key", "server.listen"}}, example_setting()}},
    });
    t.add(Op{
        .name = "reload",
        .summary = "Reload a pbd's configuration: limits and bans policies, the allow-list, "
                   "trusted proxies, token and JWKS settings, actions, log level and format, "
                   "events retention (a pbd only: pbctl --server URL reload)",
        .permission = "admin",
        .mutates = Mutates::yes,
        .route = {"POST", "/v1/reload"},
        .handler = [](Context& ctx, const json&) { return ctx.service<Services>().reload(); },
        .response = ReloadReport::schema(),
        .examples = {{"Nothing changed since the start",
                      json::object(),
                      {{"changed", json::array()},
                       {"restart_required", json::array()},
                       {"file", nullptr}}}},
    });
}

}  // namespace pb::runtime
