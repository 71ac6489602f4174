#include "common/runtime/bouncer_ops.hpp"

#include <algorithm>

#include "common/core/error.hpp"
#include "common/core/time_format.hpp"
#include "common/keys/service.hpp"
#include "common/limits/bouncer_pulls.hpp"
#include "common/ops/schema.hpp"
#include "common/runtime/services.hpp"

namespace pb::runtime {
namespace {

using nlohmann::json;
using namespace pb::ops;

constexpr std::string_view k_owner_prefix = "bouncer:";
// All a bouncer needs: GET /v1/decisions and /v1/decisions/stream.
constexpr std::string_view k_permission = "bans:read";
constexpr const char* k_example_key = "pb_4fQ9kZr2Lm8x_7dT2vQ9sX1bN4mK8pW3zY6cR0hJ5fL2a1b2c3";

std::string check_name(const json& a) {
    const auto name = a["name"].get<std::string>();
    const bool ok = !name.empty() && name.size() <= 64 &&
                    std::all_of(name.begin(), name.end(), [](unsigned char c) {
                        return std::isalnum(c) != 0 || c == '.' || c == '_' || c == '-';
                    });
    if (!ok) {
        throw Error(ErrorCode::invalid_argument,
                    "name: 1 to 64 letters, digits, '.', '_' or '-' (e.g. edge-fw1)",
                    {{"param", "name"}});
    }
    return name;
}

std::string owner_of(const std::string& name) {
    return std::string(k_owner_prefix) + name;
}

// The bouncer's keys still in force (normally one).
std::vector<keys::KeyRecord> active_keys(keys::KeyService& keys, const std::string& name) {
    return keys.list(keys::ListFilter{.owner = owner_of(name), .status = "active", .limit = 100});
}

// What a bouncer's config file needs, in its own YAML words.
std::string config_lines(const std::string& url, const std::string& key) {
    return "api_url: " + url + "\napi_key: " + key;
}

json add(Context& ctx, const json& a) {
    const auto name = check_name(a);
    auto& keys = ctx.service<keys::KeyService>();
    if (!active_keys(keys, name).empty()) {
        throw Error(
            ErrorCode::conflict,
            "bouncer " + name + " exists; remove it first (pbctl bouncers remove " + name + ")",
            {{"name", name}});
    }
    std::string url = a.contains("url") ? a["url"].get<std::string>() : std::string();
    if (url.empty()) {
        url = "http://" + ctx.service<Services>().config().get("server.listen") + "/";
    }
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
        throw Error(ErrorCode::invalid_argument, "url: pbd's http:// or https:// address",
                    {{"param", "url"}});
    }
    const auto created = keys.create(keys::NewKey{.owner = owner_of(name),
                                                  .name = "crowdsec bouncer",
                                                  .permissions = {std::string(k_permission)}},
                                     ctx.caller.actor);
    return json{{"name", name},
                {"key_id", created.record.id},
                {"permissions", created.record.permissions},
                {"api_url", url},
                {"api_key", created.key},
                {"config", config_lines(url, created.key)}};
}

json list(Context& ctx, const json&) {
    auto& store = ctx.service<store::Store>();
    const auto now = ctx.clock().now();
    // Every key a bouncer was given, with where and when it last pulled.
    const auto rows = store.transaction(
        [&](store::Connection& c) {
            return c.query(
                "SELECT k.owner, k.id, k.created_at, k.revoked_at, k.expires_at, "
                "COUNT(p.id), MAX(p.last_pull_at) FROM api_keys k LEFT JOIN bouncer_pullers p "
                "ON p.actor = 'key:' || k.id WHERE k.owner LIKE 'bouncer:%' GROUP BY k.owner, "
                "k.id, k.created_at, k.revoked_at, k.expires_at ORDER BY k.owner, k.created_at");
        },
        store::TxMode::read);
    json out = json::array();
    for (const auto& r : rows) {
        const auto revoked = r.get_opt_int(3);
        const auto expires = r.get_opt_int(4);
        std::string status =
            revoked ? "revoked" : (expires && *expires <= now ? "expired" : "active");
        out.push_back(json{{"name", r.get_text(0).substr(k_owner_prefix.size())},
                           {"key_id", r.get_text(1)},
                           {"status", status},
                           {"created_at", format_rfc3339(r.get_int(2))},
                           {"pullers", r.get_int(5)},
                           {"last_pull_at", time_or_null(r.get_opt_int(6))}});
    }
    return json{{"bouncers", out}};
}

json remove(Context& ctx, const json& a) {
    const auto name = check_name(a);
    auto& keys = ctx.service<keys::KeyService>();
    const auto found = active_keys(keys, name);
    if (found.empty()) {
        throw Error(ErrorCode::not_found, "no bouncer " + name, {{"name", name}});
    }
    limits::BouncerPulls pulls(ctx.service<store::Store>(), ctx.clock());
    json revoked = json::array();
    std::int64_t forgotten = 0;
    for (const auto& k : found) {
        keys.revoke(k.id);
        forgotten += pulls.forget("key:" + k.id);
        revoked.push_back(k.id);
    }
    return json{{"name", name}, {"revoked", revoked}, {"pullers_forgotten", forgotten}};
}

json bouncer_row_schema() {
    using namespace ops::schema;
    return named("Bouncer", object({{"name", string()},
                                    {"key_id", string()},
                                    {"status", choice({"active", "revoked", "expired"})},
                                    {"created_at", time()},
                                    {"pullers", integer("Client addresses it pulled from")},
                                    {"last_pull_at", nullable(time())}}));
}

}  // namespace

void register_bouncer_ops(OpTable& t) {
    using namespace ops::schema;
    const Param name_param{.name = "name",
                           .help = "The bouncer's name (letters, digits, '.', '_', '-')",
                           .required = Required::yes,
                           .positional = Positional::yes};
    t.add(Op{
        .name = "bouncers.add",
        .summary = "Create an API key for a CrowdSec bouncer (bans:read only) and print the "
                   "lines its config needs",
        .params = {name_param, Param{.name = "url",
                                     .help = "pbd's address as the bouncer reaches it (default: "
                                             "http://<server.listen>/)"}},
        .permission = "keys:write",
        .mutates = Mutates::yes,
        .route = {"POST", "/v1/bouncers", 201},
        .handler = add,
        .quiet_field = "config",
        .audit_target = "name",
        .response = object({{"name", string()},
                            {"key_id", string()},
                            {"permissions", array(string())},
                            {"api_url", string()},
                            {"api_key", string("Shown once")},
                            {"config", string("The api_url and api_key lines of the bouncer's "
                                              "YAML config")}}),
        .errors = {ErrorCode::conflict},
        .examples = {{"A bouncer on the edge firewall",
                      {{"name", "edge-fw1"}, {"url", "http://10.0.0.5:8700/"}},
                      {{"name", "edge-fw1"},
                       {"key_id", "4fQ9kZr2Lm8x"},
                       {"permissions", {"bans:read"}},
                       {"api_url", "http://10.0.0.5:8700/"},
                       {"api_key", k_example_key},
                       {"config", config_lines("http://10.0.0.5:8700/", k_example_key)}}}},
    });
    t.add(Op{
        .name = "bouncers.list",
        .summary = "List CrowdSec bouncers' keys, with how many addresses pulled and when last",
        .permission = "keys:read",
        .route = {"GET", "/v1/bouncers"},
        .handler = list,
        .columns = {"name", "key_id", "status", "pullers", "last_pull_at"},
        .list_field = "bouncers",
        .response = object({{"bouncers", array(bouncer_row_schema())}}),
        .examples = {{"One bouncer",
                      json::object(),
                      {{"bouncers",
                        {{{"name", "edge-fw1"},
                          {"key_id", "4fQ9kZr2Lm8x"},
                          {"status", "active"},
                          {"created_at", "2026-01-02T03:04:05Z"},
                          {"pullers", 1},
                          {"last_pull_at", "2026-01-02T03:05:00Z"}}}}}}},
    });
    t.add(Op{
        .name = "bouncers.remove",
        .summary = "Revoke a CrowdSec bouncer's key and forget what it was sent",
        .params = {name_param},
        .permission = "keys:write",
        .mutates = Mutates::yes,
        .route = {"DELETE", "/v1/bouncers/{name}"},
        .handler = remove,
        .audit_target = "name",
        .response = object({{"name", string()},
                            {"revoked", array(string("A key id"))},
                            {"pullers_forgotten", integer()}}),
        .errors = {ErrorCode::not_found},
        .examples =
            {{"Remove a bouncer",
              {{"name", "edge-fw1"}},
              {{"name", "edge-fw1"}, {"revoked", {"4fQ9kZr2Lm8x"}}, {"pullers_forgotten", 1}}}},
    });
}

}  // namespace pb::runtime
