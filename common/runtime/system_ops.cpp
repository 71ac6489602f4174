#include <chrono>

#include "common/core/build_info.hpp"
#include "common/core/error.hpp"
#include "common/redis/client.hpp"
#include "common/runtime/op_table.hpp"
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
    });
}

}  // namespace pb::runtime
