// identities.*: what several keys of one customer share (named limits, credits).
#include "common/core/error.hpp"
#include "common/keys/identity_service.hpp"
#include "common/keys/limit_params.hpp"
#include "common/keys/ops.hpp"
#include "common/keys/service.hpp"
#include "common/ops/paging.hpp"
#include "common/ops/schema.hpp"
#include "common/ops/validate.hpp"

namespace pb::keys {
namespace {

using nlohmann::json;
using namespace pb::ops;

Param id_param() {
    return Param{.name = "id",
                 .help = "The identity's id (your customer's, tenant's or user's id)",
                 .required = Required::yes,
                 .positional = Positional::yes,
                 .values_from = {"identities.list", "id"}};
}

Param metadata_param(std::string help) {
    return Param{.name = "metadata", .type = ParamType::json_object, .help = std::move(help)};
}

// --meta plan=pro: a field of metadata.
Param meta_words_param() {
    return Param{.name = "meta",
                 .type = ParamType::string_list,
                 .help = "A metadata field KEY=VALUE, merged into --metadata (repeatable)",
                 .cli_only = CliOnly::yes};
}

Param refill_param() {
    return Param{.name = "refill",
                 .help =
                     "Refill its remaining credits to N each UTC day or month, at the first "
                     "use of the period: N/day, N/month or N/month@DAY (DAY 1-31; the last "
                     "day of shorter months); off removes it"};
}

// pbctl's --meta and --limit words in the JSON form.
json identity_from_cli(const json& args) {
    json out = limits_from_cli(args);
    const auto words = out.find("meta");
    if (words == out.end()) {
        return out;
    }
    json metadata = out.value("metadata", json::object());
    for (const auto& w : words->get<std::vector<std::string>>()) {
        const auto eq = w.find('=');
        if (eq == std::string::npos || eq == 0) {
            throw Error(ErrorCode::invalid_argument,
                        "--meta: expected KEY=VALUE, got \"" + w + "\"", {{"param", "meta"}});
        }
        metadata[w.substr(0, eq)] = w.substr(eq + 1);
    }
    out.erase("meta");
    out["metadata"] = std::move(metadata);
    return out;
}

json example_identity(json changes = json::object()) {
    json row{{"id", "acme"},
             {"metadata", {{"plan", "pro"}}},
             {"limits",
              {{{"name", "requests"}, {"rate", "100/min"}, {"auto", false}, {"shadow", true}},
               {{"name", "tokens"}, {"rate", "10000/day"}, {"auto", false}, {"shadow", false}}}},
             {"remaining", 5000},
             {"refill", "5000/month@15"},
             {"last_refill_at", "2026-01-02T03:04:05.678Z"},
             {"created_at", "2026-01-02T03:04:05.678Z"},
             {"created_by", "local:ops"},
             {"updated_at", "2026-01-02T03:04:05.678Z"}};
    row.update(changes);
    return row;
}

}  // namespace

void register_identity_ops(OpTable& t) {
    t.add(Op{
        .name = "identities.create",
        .summary = "Create an identity: named limits and credits its keys share",
        .params =
            {
                Param{.name = "id",
                      .help = "The identity's id (your customer's, tenant's or user's id)",
                      .required = Required::yes,
                      .positional = Positional::yes},
                metadata_param("A JSON object stored with it"),
                meta_words_param(),
                limits_param("Named limits shared by its keys"),
                limit_words_param(),
                Param{.name = "remaining",
                      .type = ParamType::integer,
                      .help = "Credits its keys share; each use by any of them spends one "
                              "[default: unlimited, or the refill's N]"},
                refill_param(),
            },
        .permission = "identities:write",
        .mutates = Mutates::yes,
        .route = {"POST", "/v1/identities", 201},
        .handler =
            [](Context& ctx, const json& a) {
                NewIdentity r{.id = a["id"].get<std::string>(),
                              .metadata = a.value("metadata", json::object()),
                              .limits = a.value("limits", json::array()),
                              .remaining = optional_int(a, "remaining")};
                if (a.contains("refill"))
                    r.refill = a["refill"].get<std::string>();
                return ctx.service<KeyService>().identities().create(r, ctx.caller.actor).to_json();
            },
        .quiet_field = "id",
        .audit_target = "id",
        .from_cli = identity_from_cli,
        .response = IdentityRecord::schema(),
        .errors = {ErrorCode::conflict},
        .examples = {{"A customer with a request rate to watch (shadow), a token budget and "
                      "monthly credits",
                      {{"id", "acme"},
                       {"metadata", {{"plan", "pro"}}},
                       {"limits",
                        {{{"name", "requests"}, {"rate", "100/min"}, {"shadow", true}},
                         {{"name", "tokens"}, {"rate", "10000/day"}}}},
                       {"remaining", 5000},
                       {"refill", "5000/month@15"}},
                      example_identity()}},
    });
    t.add(Op{
        .name = "identities.list",
        .summary = "List identities by id, a page at a time",
        .params = {limit_param("identities"), cursor_param()},
        .permission = "identities:read",
        .route = {"GET", "/v1/identities"},
        .handler =
            [](Context& ctx, const json& a) {
                const auto limit = page_limit(a);
                std::optional<std::string> after;
                if (const auto pos = decode_cursor(a, "identities", {CursorPart::text})) {
                    after = (*pos)[0].get<std::string>();
                }
                auto rows = ctx.service<KeyService>().identities().list(after, limit + 1);
                std::optional<std::string> next;
                if (static_cast<std::int64_t>(rows.size()) > limit) {
                    rows.resize(static_cast<std::size_t>(limit));
                    next = encode_cursor("identities", json::array({rows.back().id}));
                }
                json out = json::array();
                for (const auto& r : rows) {
                    out.push_back(r.to_json());
                }
                return json{{"identities", out}, {"next_cursor", cursor_json(next)}};
            },
        .quiet_field = "id",
        .columns = {"id", "remaining", "refill", "limits", "metadata"},
        .list_field = "identities",
        .response =
            ops::schema::object({{"identities", ops::schema::array(IdentityRecord::schema())}}),
        .examples = {{"Every identity", json::object(), {{"identities", {example_identity()}}}}},
    });
    t.add(Op{
        .name = "identities.show",
        .summary = "Show one identity",
        .params = {id_param()},
        .permission = "identities:read",
        .route = {"GET", "/v1/identities/{id}"},
        .handler =
            [](Context& ctx, const json& a) {
                return ctx.service<KeyService>()
                    .identities()
                    .get(a["id"].get<std::string>())
                    .to_json();
            },
        .response = IdentityRecord::schema(),
        .errors = {ErrorCode::not_found},
        .examples = {{"One identity", {{"id", "acme"}}, example_identity()}},
    });
    t.add(Op{
        .name = "identities.update",
        .summary = "Change an identity's metadata, limits, credits or refill",
        .params =
            {
                id_param(),
                metadata_param("A JSON object replacing its metadata"),
                meta_words_param(),
                limits_param("Named limits shared by its keys"),
                limit_words_param(),
                Param{.name = "remaining",
                      .type = ParamType::integer,
                      .help = "Credits left from now on",
                      .min = 0},
                Param{.name = "unlimited",
                      .type = ParamType::boolean,
                      .help = "Remove the limit on credits",
                      .fallback = false},
                refill_param(),
            },
        .permission = "identities:write",
        .mutates = Mutates::yes,
        .route = {"PATCH", "/v1/identities/{id}"},
        .handler =
            [](Context& ctx, const json& a) {
                IdentityPatch p;
                if (a.contains("metadata"))
                    p.metadata = a["metadata"];
                if (a.contains("limits"))
                    p.limits = a["limits"];
                if (a.contains("remaining"))
                    p.remaining = optional_int(a, "remaining");
                if (a["unlimited"].get<bool>()) {
                    if (a.contains("remaining")) {
                        throw Error(ErrorCode::invalid_argument,
                                    "remaining and unlimited cannot be used together");
                    }
                    p.remaining = std::optional<std::int64_t>();
                }
                if (a.contains("refill"))
                    p.refill = a["refill"].get<std::string>();
                return ctx.service<KeyService>()
                    .identities()
                    .update(a["id"].get<std::string>(), p)
                    .to_json();
            },
        .audit_target = "id",
        .from_cli = identity_from_cli,
        .response = IdentityRecord::schema(),
        .errors = {ErrorCode::not_found},
        .examples = {{"More credits",
                      {{"id", "acme"}, {"remaining", 10000}},
                      example_identity({{"remaining", 10000}})}},
    });
    t.add(Op{
        .name = "identities.delete",
        .summary = "Delete an identity; refused while it has keys, unless --force, which revokes "
                   "them with it",
        .params = {id_param(),
                   Param{.name = "force",
                         .type = ParamType::boolean,
                         .help = "Also revoke (and detach) its keys, in the same transaction",
                         .fallback = false}},
        .permission = "identities:write",
        .mutates = Mutates::yes,
        .route = {"DELETE", "/v1/identities/{id}"},
        .handler =
            [](Context& ctx, const json& a) {
                const auto removed = ctx.service<KeyService>().identities().remove(
                    a["id"].get<std::string>(), a["force"].get<bool>());
                return json{
                    {"id", removed.id}, {"deleted", true}, {"revoked_keys", removed.revoked_keys}};
            },
        .audit_target = "id",
        .response =
            ops::schema::object({{"id", ops::schema::string()},
                                 {"deleted", ops::schema::boolean()},
                                 {"revoked_keys", ops::schema::array(ops::schema::string())}}),
        .errors = {ErrorCode::not_found, ErrorCode::conflict},
        .examples = {{"Delete an identity that has no keys left",
                      {{"id", "acme"}},
                      {{"id", "acme"}, {"deleted", true}, {"revoked_keys", json::array()}}}},
    });
}

}  // namespace pb::keys
