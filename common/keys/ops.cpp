#include "common/keys/ops.hpp"

#include "common/core/error.hpp"
#include "common/keys/import_ops.hpp"
#include "common/keys/limit_params.hpp"
#include "common/keys/op_examples.hpp"
#include "common/keys/service.hpp"
#include "common/keys/verifier.hpp"
#include "common/ops/paging.hpp"
#include "common/ops/schema.hpp"
#include "common/ops/validate.hpp"

namespace pb::keys {
namespace {

using nlohmann::json;
using namespace pb::ops;

// "bootstrap": the key pbd made at its first start, to revoke once the
// operator has their own.
const std::vector<std::string> k_list_columns{"id",          "owner",        "name",
                                              "permissions", "status",       "expires_at",
                                              "remaining",   "last_used_at", "bootstrap"};

Param id_param() {
    return Param{.name = "id",
                 .help = "The key's id (the part after pb_)",
                 .required = Required::yes,
                 .positional = Positional::yes};
}

json created_schema() {
    using namespace ops::schema;
    auto s = KeyRecord::schema();
    s.erase("title");
    s["properties"]["key"] = string("The key's text, shown this once");
    s["required"].push_back("key");
    return named("CreatedApiKey", s);
}

// The params every holder of named limits and credits takes (keys, identities).
Param refill_param(std::string_view whose) {
    return Param{.name = "refill",
                 .help = "Refill " + std::string(whose) +
                         " remaining to N each UTC day or month, at its first use of the period: "
                         "N/day, N/month or N/month@DAY (DAY 1-31; the last day of shorter "
                         "months); off removes it"};
}

json created_json(const CreatedKey& c, UnixMillis now) {
    json j = c.record.to_json(now);
    j["key"] = c.key;
    return j;
}

}  // namespace

void register_keys_ops(OpTable& t) {
    t.add(Op{
        .name = "keys.create",
        .summary = "Create an API key; its secret is shown once",
        .params =
            {
                Param{.name = "owner",
                      .help = "Who the key belongs to (a user, a service, a CI job)",
                      .required = Required::yes},
                Param{.name = "name", .help = "A label for the key", .fallback = ""},
                Param{.name = "permissions",
                      .type = ParamType::string_list,
                      .help = "A permission to grant, e.g. deploy:write (repeatable)",
                      .fallback = json::array(),
                      .flag = "perm"},
                Param{.name = "expires",
                      .type = ParamType::time,
                      .help = "When it expires: a duration (30d) or an RFC 3339 time"},
                Param{.name = "remaining",
                      .type = ParamType::integer,
                      .help = "How many verifications it allows before it is exhausted",
                      .min = 1},
                Param{.name = "metadata",
                      .type = ParamType::json_object,
                      .help = "A JSON object stored with the key",
                      .fallback = json::object()},
                Param{.name = "rate_limit",
                      .help =
                          "The key's own rate limit in pbd: RATE[,BURST], e.g. 10/s or 600/min,50"},
                Param{.name = "identity",
                      .help = "The identity whose limits and credits the key shares",
                      .values_from = {"identities.list", "id"}},
                limits_param("Named limits"),
                limit_words_param(),
                refill_param("the key's"),
            },
        .permission = "keys:write",
        .mutates = Mutates::yes,
        .route = {"POST", "/v1/keys", 201},
        .handler =
            [](Context& ctx, const json& a) {
                NewKey req{.owner = a["owner"],
                           .name = a["name"],
                           .permissions = a["permissions"].get<std::vector<std::string>>(),
                           .expires_at = optional_int(a, "expires"),
                           .remaining = optional_int(a, "remaining"),
                           .metadata = a["metadata"]};
                if (a.contains("rate_limit"))
                    req.rate_limit = a["rate_limit"].get<std::string>();
                if (a.contains("identity"))
                    req.identity_id = a["identity"].get<std::string>();
                if (a.contains("limits"))
                    req.limits = a["limits"];
                if (a.contains("refill"))
                    req.refill = a["refill"].get<std::string>();
                return created_json(ctx.service<KeyService>().create(req, ctx.caller.actor),
                                    ctx.clock().now());
            },
        .quiet_field = "key",
        .audit_target = "owner",
        .from_cli = limits_from_cli,
        .response = created_schema(),
        .errors = {ErrorCode::not_found},
        .examples = {{"A deploy key for CI, valid 30 days",
                      {{"owner", "ci"},
                       {"name", "deploy"},
                       {"permissions", {"deploy:write"}},
                       {"expires", "30d"}},
                      [] {
                          auto j = example_key();
                          j["key"] = k_example_key;
                          return j;
                      }()},
                     {"A key of the identity acme, with its own token budget",
                      {{"owner", "acme"},
                       {"identity", "acme"},
                       {"limits", {{{"name", "tokens"}, {"rate", "10000/day"}}}}},
                      [] {
                          auto j = example_key({{"owner", "acme"},
                                                {"name", ""},
                                                {"permissions", json::array()},
                                                {"expires_at", nullptr},
                                                {"identity", "acme"},
                                                {"limits",
                                                 {{{"name", "tokens"},
                                                   {"rate", "10000/day"},
                                                   {"auto", false},
                                                   {"shadow", false}}}}});
                          j["key"] = k_example_key;
                          return j;
                      }()}},
    });
    register_key_import_op(t);
    t.add(Op{
        .name = "keys.verify",
        .summary = "Check an API key",
        .cli_note = "On the database without Redis, pbctl counts the key's and its identity's "
                    "named limits in the database (as limits check counts), so runs share one "
                    "count (scripts, cron jobs); pbd counts them in its own memory, apart from "
                    "it: use --server to count in pbd. With redis.url set, pbctl and every pbd "
                    "share the counts in Redis.",
        .params = {Param{.name = "key",
                         .help = "The key",
                         .required = Required::yes,
                         .positional = Positional::yes,
                         .secret = Secret::yes},
                   Param{.name = "limits",
                         .type = ParamType::json_value,
                         .help = "Named limits to spend besides the auto ones, a JSON array of "
                                 "{\"name\",\"cost\"} (cost 1 to the limit's burst, default 1)",
                         .schema = ops::schema::array(ops::schema::object(
                             {{"name", ops::schema::string()},
                              {"cost", ops::schema::optional(ops::schema::integer())}}))},
                   Param{.name = "cost",
                         .type = ParamType::string_list,
                         .help = "A named limit to spend, NAME=COST, e.g. tokens=250 (repeatable; "
                                 "added to --limits)",
                         .cli_only = CliOnly::yes}},
        .route = {"POST", "/v1/keys/verify"},
        .handler =
            [](Context& ctx, const json& a) {
                // The same admission as pbd's routes and /v1/auth: bans, the
                // key's own limit and its and its identity's named limits
                // apply whoever asks; a refused key spends no use.
                if (!a.contains("limits")) {
                    return ctx.service<Verifier>().verify(a["key"].get<std::string>());
                }
                const auto costs = parse_limit_costs(a["limits"]);
                return ctx.service<Verifier>().verify(a["key"].get<std::string>(), &costs);
            },
        .quiet_field = "id",
        .verdict_field = "valid",
        .verdict_reason_field = "reason",
        .from_cli = costs_from_cli,
        .response = VerifyResult::schema(),
        .examples = {{"A valid key",
                      {{"key", k_example_key}},
                      {{"valid", true},
                       {"id", "4fQ9kZr2Lm8x"},
                       {"owner", "ci"},
                       {"name", "deploy"},
                       {"permissions", {"deploy:write"}},
                       {"metadata", json::object()},
                       {"expires_at", "2026-02-01T03:04:05.678Z"},
                       {"remaining", nullptr}}},
                     {"A revoked key",
                      {{"key", k_example_key}},
                      {{"valid", false}, {"reason", "revoked"}}}},
    });
    t.add(Op{
        .name = "keys.list",
        .summary = "List API keys, oldest first, a page at a time",
        .params =
            {
                Param{.name = "owner", .help = "Only keys of this owner"},
                Param{.name = "status",
                      .help = "Only keys in this status",
                      .choices = {"active", "revoked", "disabled", "expired", "exhausted"}},
                limit_param("keys"),
                cursor_param(),
            },
        .permission = "keys:read",
        .route = {"GET", "/v1/keys"},
        .handler =
            [](Context& ctx, const json& a) {
                ListFilter f;
                if (a.contains("owner"))
                    f.owner = a["owner"].get<std::string>();
                if (a.contains("status"))
                    f.status = a["status"].get<std::string>();
                const auto limit = page_limit(a);
                if (const auto after =
                        decode_cursor(a, "keys", {CursorPart::integer, CursorPart::text})) {
                    f.after = ListFilter::Position{(*after)[0].get<std::int64_t>(),
                                                   (*after)[1].get<std::string>()};
                }
                f.limit = limit + 1;
                auto keys = ctx.service<KeyService>().list(f);
                std::optional<std::string> next;
                if (static_cast<std::int64_t>(keys.size()) > limit) {
                    keys.resize(static_cast<std::size_t>(limit));
                    next = encode_cursor("keys",
                                         json::array({keys.back().created_at, keys.back().id}));
                }
                json rows = json::array();
                const auto now = ctx.clock().now();
                for (const auto& k : keys) {
                    rows.push_back(k.to_json(now));
                }
                return json{{"keys", rows}, {"next_cursor", cursor_json(next)}};
            },
        .quiet_field = "id",
        .columns = k_list_columns,
        .list_field = "keys",
        .response = ops::schema::object({{"keys", ops::schema::array(KeyRecord::schema())}}),
        .examples = {{"The active keys of ci",
                      {{"owner", "ci"}, {"status", "active"}},
                      {{"keys", {example_key()}}}}},
    });
    t.add(Op{
        .name = "keys.show",
        .summary = "Show one API key (never its secret)",
        .params = {id_param()},
        .permission = "keys:read",
        .route = {"GET", "/v1/keys/{id}"},
        .handler =
            [](Context& ctx, const json& a) {
                return ctx.service<KeyService>()
                    .get(a["id"].get<std::string>())
                    .to_json(ctx.clock().now());
            },
        .response = KeyRecord::schema(),
        .errors = {ErrorCode::not_found},
        .examples = {{"One key", {{"id", "4fQ9kZr2Lm8x"}}, example_key()}},
    });
    t.add(Op{
        .name = "keys.update",
        .summary = "Change a key's name, permissions, expiry, uses, limits, identity or metadata",
        .params =
            {
                id_param(),
                Param{.name = "name", .help = "A new label"},
                Param{.name = "permissions",
                      .type = ParamType::string_list,
                      .help = "The permissions, replacing the current ones (repeatable)",
                      .flag = "perm"},
                Param{.name = "expires",
                      .type = ParamType::time,
                      .help = "A new expiry: a duration (30d), an RFC 3339 time, or never (null in "
                              "JSON)"},
                Param{.name = "remaining",
                      .type = ParamType::integer,
                      .help = "Uses left from now on",
                      .min = 0},
                Param{.name = "unlimited",
                      .type = ParamType::boolean,
                      .help = "Remove the limit on uses",
                      .fallback = false},
                Param{.name = "metadata",
                      .type = ParamType::json_object,
                      .help = "A JSON object replacing the metadata"},
                Param{.name = "rate_limit",
                      .help = "The key's own rate limit (RATE[,BURST], e.g. 10/s), or off for the "
                              "limits.key default"},
                limits_param("Named limits"),
                limit_words_param(),
                refill_param("the key's"),
                Param{.name = "identity",
                      .help = "Move the key into this identity, whose limits and credits it then "
                              "shares (it must exist), or out of its identity with \"\" "
                              "(--identity '')",
                      .values_from = {"identities.list", "id"}},
            },
        .permission = "keys:write",
        .mutates = Mutates::yes,
        .route = {"PATCH", "/v1/keys/{id}"},
        .handler =
            [](Context& ctx, const json& a) {
                KeyPatch p;
                if (a.contains("name"))
                    p.name = a["name"].get<std::string>();
                if (a.contains("permissions"))
                    p.permissions = a["permissions"].get<std::vector<std::string>>();
                if (a.contains("expires"))
                    p.expires_at = optional_int(a, "expires");
                if (a.contains("remaining"))
                    p.remaining = optional_int(a, "remaining");
                if (a["unlimited"].get<bool>()) {
                    if (a.contains("remaining")) {
                        throw Error(ErrorCode::invalid_argument,
                                    "remaining and unlimited cannot be used together");
                    }
                    p.remaining = std::optional<std::int64_t>();
                }
                if (a.contains("metadata"))
                    p.metadata = a["metadata"];
                if (a.contains("rate_limit"))
                    p.rate_limit = a["rate_limit"].get<std::string>();
                if (a.contains("limits"))
                    p.limits = a["limits"];
                if (a.contains("refill"))
                    p.refill = a["refill"].get<std::string>();
                if (a.contains("identity")) {
                    auto identity = a["identity"].get<std::string>();
                    p.identity_id = identity.empty() ? std::optional<std::string>()
                                                     : std::optional(std::move(identity));
                }
                return ctx.service<KeyService>()
                    .update(a["id"].get<std::string>(), p)
                    .to_json(ctx.clock().now());
            },
        .audit_target = "id",
        .from_cli = limits_from_cli,
        .response = KeyRecord::schema(),
        .errors = {ErrorCode::not_found, ErrorCode::conflict},
        .examples = {{"New permissions and no expiry",
                      {{"id", "4fQ9kZr2Lm8x"},
                       {"permissions", {"deploy:write", "states:read"}},
                       {"expires", nullptr}},
                      example_key({{"permissions", {"deploy:write", "states:read"}},
                                   {"expires_at", nullptr}})},
                     {"Out of its identity (a name instead of \"\" moves it into that one)",
                      {{"id", "4fQ9kZr2Lm8x"}, {"identity", ""}},
                      example_key({{"owner", "acme"},
                                   {"name", ""},
                                   {"permissions", {"deploy:write", "states:read"}},
                                   {"expires_at", nullptr},
                                   {"limits",
                                    {{{"name", "tokens"},
                                      {"rate", "10000/day"},
                                      {"auto", false},
                                      {"shadow", false}}}}})}},
    });
    t.add(Op{
        .name = "keys.rotate",
        .summary = "Give a key a new secret, same settings; the old one works during the grace "
                   "period",
        .params = {id_param(), Param{.name = "grace",
                                     .type = ParamType::duration,
                                     .help = "How long the old secret keeps working",
                                     .fallback = 0}},
        .permission = "keys:write",
        .mutates = Mutates::yes,
        .route = {"POST", "/v1/keys/{id}/rotate"},
        .handler =
            [](Context& ctx, const json& a) {
                return created_json(ctx.service<KeyService>().rotate(
                                        a["id"].get<std::string>(), a["grace"].get<std::int64_t>()),
                                    ctx.clock().now());
            },
        .quiet_field = "key",
        .audit_target = "id",
        .response = created_schema(),
        .errors = {ErrorCode::not_found, ErrorCode::conflict},
        .examples = {{"A new secret; the old one works one more hour",
                      {{"id", "4fQ9kZr2Lm8x"}, {"grace", "1h"}},
                      [] {
                          auto j = example_key(
                              {{"previous_secret_valid_until", "2026-01-02T04:04:05.678Z"}});
                          j["key"] = k_example_key;
                          return j;
                      }()}},
    });
    t.add(Op{
        .name = "keys.disable",
        .summary = "Disable a key until keys.enable: it verifies as disabled, its sessions close",
        .params = {id_param(),
                   Param{.name = "reason", .help = "Why, shown with the key", .fallback = ""}},
        .permission = "keys:write",
        .mutates = Mutates::yes,
        .route = {"POST", "/v1/keys/{id}/disable"},
        .handler =
            [](Context& ctx, const json& a) {
                return ctx.service<KeyService>()
                    .disable(a["id"].get<std::string>(), a["reason"].get<std::string>())
                    .to_json(ctx.clock().now());
            },
        .audit_target = "id",
        .response = KeyRecord::schema(),
        .errors = {ErrorCode::not_found, ErrorCode::conflict},
        .examples = {{"Disable a key while its owner is looked into",
                      {{"id", "4fQ9kZr2Lm8x"}, {"reason", "unpaid invoice"}},
                      example_key({{"status", "disabled"},
                                   {"disabled_at", "2026-01-03T00:00:00.000Z"},
                                   {"disabled_reason", "unpaid invoice"}})}},
    });
    t.add(Op{
        .name = "keys.enable",
        .summary = "Enable a disabled key again",
        .params = {id_param()},
        .permission = "keys:write",
        .mutates = Mutates::yes,
        .route = {"POST", "/v1/keys/{id}/enable"},
        .handler =
            [](Context& ctx, const json& a) {
                return ctx.service<KeyService>()
                    .enable(a["id"].get<std::string>())
                    .to_json(ctx.clock().now());
            },
        .audit_target = "id",
        .response = KeyRecord::schema(),
        .errors = {ErrorCode::not_found, ErrorCode::conflict},
        .examples = {{"Enable it again", {{"id", "4fQ9kZr2Lm8x"}}, example_key()}},
    });
    t.add(Op{
        .name = "keys.revoke",
        .summary = "Revoke a key at once (it stays listed, marked revoked)",
        .params = {id_param()},
        .permission = "keys:write",
        .mutates = Mutates::yes,
        .route = {"POST", "/v1/keys/{id}/revoke"},
        .handler =
            [](Context& ctx, const json& a) {
                return ctx.service<KeyService>()
                    .revoke(a["id"].get<std::string>())
                    .to_json(ctx.clock().now());
            },
        .audit_target = "id",
        .response = KeyRecord::schema(),
        .errors = {ErrorCode::not_found},
        .examples = {{"Revoke a key",
                      {{"id", "4fQ9kZr2Lm8x"}},
                      example_key(
                          {{"status", "revoked"}, {"revoked_at", "2026-01-03T00:00:00.000Z"}})}},
    });
    t.add(Op{
        .name = "keys.delete",
        .summary = "Delete a key for good",
        .params = {id_param()},
        .permission = "keys:write",
        .mutates = Mutates::yes,
        .route = {"DELETE", "/v1/keys/{id}"},
        .handler =
            [](Context& ctx, const json& a) {
                ctx.service<KeyService>().remove(a["id"].get<std::string>());
                return json{{"id", a["id"]}, {"deleted", true}};
            },
        .audit_target = "id",
        .response = ops::schema::object(
            {{"id", ops::schema::string()}, {"deleted", ops::schema::boolean()}}),
        .errors = {ErrorCode::not_found},
        .examples = {{"Delete a key",
                      {{"id", "4fQ9kZr2Lm8x"}},
                      {{"id", "4fQ9kZr2Lm8x"}, {"deleted", true}}}},
    });
}

}  // namespace pb::keys
