#include "common/runtime/audit_ops.hpp"

#include "common/core/error.hpp"
#include "common/core/json_parse.hpp"
#include "common/core/time_format.hpp"
#include "common/events/audit_log.hpp"
#include "common/ops/paging.hpp"
#include "common/ops/schema.hpp"
#include "common/runtime/op_table.hpp"
#include "common/runtime/services.hpp"

namespace pb::runtime {
namespace {

using nlohmann::json;
using namespace pb::ops;

constexpr std::string_view k_hash_prefix = "hmac-sha256:";

// Recorded args hold times as the canonical Unix ms; shown as every time is.
json shown_args(const std::string& op_name, json args) {
    const auto* op = op_table().find(op_name);
    if (op == nullptr || !args.is_object()) {
        return args;
    }
    for (const auto& p : op->params) {
        const auto it = args.find(p.name);
        if (p.type == ParamType::time && it != args.end() && it->is_number_integer()) {
            *it = format_rfc3339(it->get<UnixMillis>());
        }
    }
    return args;
}

// A value hash as `audit hash` prints it, else Error(invalid_argument): it is
// matched inside the stored args, so nothing but its own characters may pass.
std::string checked_value_hash(const std::string& h) {
    bool ok = h.size() == k_hash_prefix.size() + 64 && h.starts_with(k_hash_prefix);
    for (std::size_t i = k_hash_prefix.size(); ok && i < h.size(); ++i) {
        ok = (h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f');
    }
    if (!ok) {
        throw Error(ErrorCode::invalid_argument,
                    "value_hash: expected hmac-sha256: and 64 hex digits (what `audit hash` "
                    "prints)",
                    {{"param", "value_hash"}});
    }
    return h;
}

json audit_list(Services& s, const json& a) {
    std::string sql =
        "SELECT id, seq, at, actor, op, target, outcome, args, hmac FROM audit_log "
        "WHERE 1 = 1";
    store::Params params;
    const auto add = [&](const std::string& condition, store::Value v) {
        params.push_back(std::move(v));
        sql += " AND " + condition + " $" + std::to_string(params.size());
    };
    const auto now = s.clock().now();
    if (a.contains("since")) {
        add("at >=", now - a["since"].get<std::int64_t>());
    }
    if (a.contains("until")) {
        add("at <", now - a["until"].get<std::int64_t>());
    }
    for (const char* field : {"actor", "op", "target"}) {
        if (a.contains(field)) {
            add(std::string(field) + " =", a[field].get<std::string>());
        }
    }
    if (a.contains("value_hash")) {
        params.emplace_back(checked_value_hash(a["value_hash"].get<std::string>()));
        sql += " AND args LIKE '%' || $" + std::to_string(params.size()) + " || '%'";
    }
    const bool following = a.contains("after_seq");
    std::optional<json> after;
    if (following) {
        add("seq >", a["after_seq"].get<std::int64_t>());
    } else if ((after = decode_cursor(a, "audit", {CursorPart::integer}))) {
        add("id <", (*after)[0].get<std::int64_t>());
    }
    const auto limit = page_limit(a);
    params.emplace_back(limit + 1);
    // Newest first; following a seq, oldest first (the order they happened in).
    sql += std::string(following ? " ORDER BY seq" : " ORDER BY id DESC") + " LIMIT $" +
           std::to_string(params.size());
    json rows = json::array();
    s.store().transaction(
        [&](store::Connection& c) {
            for (const auto& r : c.query(sql, params)) {
                auto args = parse_json_or_discarded(r.get_text(7), {k_max_stored_json_depth});
                const auto seq = r.get_opt_int(1);
                const auto hmac = r.get_opt_text(8);
                rows.push_back(
                    {{"id", r.get_int(0)},
                     {"seq", seq ? json(*seq) : json(nullptr)},
                     {"at", format_rfc3339(r.get_int(2))},
                     {"actor", r.get_text(3)},
                     {"op", r.get_text(4)},
                     {"target", r.get_text(5)},
                     {"outcome", r.get_text(6)},
                     {"args", args.is_discarded() ? json(nullptr)
                                                  : shown_args(r.get_text(4), std::move(args))},
                     {"hmac", hmac ? json(*hmac) : json(nullptr)}});
            }
        },
        store::TxMode::read);
    std::optional<std::string> next;
    if (static_cast<std::int64_t>(rows.size()) > limit) {
        rows.erase(rows.end() - 1);
        if (!following) {
            next = encode_cursor("audit", json::array({rows.back()["id"]}));
        }
    }
    return json{{"entries", rows}, {"next_cursor", cursor_json(next)}};
}

json entry_schema() {
    using namespace ops::schema;
    return named("AuditEntry",
                 object({{"id", integer()},
                         {"seq", nullable(integer("Its place in the chain (null: from before "
                                                  "the chain, migration 13)"))},
                         {"at", time()},
                         {"actor", string()},
                         {"op", string()},
                         {"target", string()},
                         {"outcome", string()},
                         {"args", nullable(free_object("Secret values as their hmac-sha256: "
                                                       "value hash (audit hash)"))},
                         {"hmac", nullable(string("HMAC-SHA256 over the row and its "
                                                  "predecessor's hmac"))}}));
}

json example_entry() {
    return {{"id", 41},
            {"seq", 38},
            {"at", "2026-01-02T03:04:05.678Z"},
            {"actor", "local:ops"},
            {"op", "keys.create"},
            {"target", "ci"},
            {"outcome", "ok"},
            {"args", {{"owner", "ci"}, {"permissions", {"deploy:write"}}}},
            {"hmac", "5d0c3c0d9be4a3a1f43e2f0f1e6a0f2b8f3d6c3e2b1a09f8e7d6c5b4a3928171"}};
}

}  // namespace

void register_audit_ops(OpTable& t) {
    t.add(Op{
        .name = "audit.list",
        .summary = "The audit log, newest first: who ran which mutating op, action or read of "
                   "secrets, on what, with what outcome",
        .params =
            {
                Param{.name = "since",
                      .type = ParamType::duration,
                      .help = "Only entries newer than this, e.g. 7d [default: every entry]"},
                Param{.name = "until",
                      .type = ParamType::duration,
                      .help = "Only entries older than this, e.g. 1h"},
                Param{.name = "actor", .help = "Only this actor, e.g. key:abc123"},
                Param{.name = "op", .help = "Only this op, e.g. keys.create"},
                Param{.name = "target", .help = "Only this target, e.g. a key id or secret path"},
                Param{.name = "value_hash",
                      .help = "Only entries whose arguments held this secret value: the "
                              "hmac-sha256:… that `audit hash VALUE` prints"},
                Param{.name = "after_seq",
                      .type = ParamType::integer,
                      .help = "The entries after this chain position, oldest first, no cursor "
                              "(how `audit tail` follows)"},
                limit_param("entries"),
                cursor_param(),
            },
        .permission = "admin",
        .route = {"GET", "/v1/audit"},
        .handler = [](Context& ctx,
                      const json& a) { return audit_list(ctx.service<Services>(), a); },
        .quiet_field = "id",
        .columns = {"seq", "at", "actor", "op", "target", "outcome"},
        .list_field = "entries",
        .response = ops::schema::object({{"entries", ops::schema::array(entry_schema())}}),
        .examples = {{"Who created keys this week",
                      {{"since", "7d"}, {"op", "keys.create"}},
                      {{"entries", {example_entry()}}}}},
    });
    t.add(Op{
        .name = "audit.verify",
        .summary = "Check the audit chain: every row's HMAC, its place and the chain head",
        .cli_note = "Exits 5 (conflict) naming each changed, inserted or removed row; changes "
                    "nothing. Note the head it prints somewhere else: removing the newest rows "
                    "and rewinding the head to match is the one change a chain cannot show.",
        .permission = "admin",
        .route = {"GET", "/v1/audit/verify"},
        .handler = [](Context& ctx,
                      const json&) { return ctx.service<events::AuditLog>().verify(); },
        .quiet_field = "checked",
        .response = ops::schema::object(
            {{"ok", ops::schema::boolean()},
             {"checked", ops::schema::integer("Chained rows checked")},
             {"unchained", ops::schema::integer("Rows from before the chain (not checked)")},
             {"head", ops::schema::object(
                          {{"seq", ops::schema::integer()}, {"hmac", ops::schema::string()}})},
             {"pruned", ops::schema::object({{"seq", ops::schema::integer()},
                                             {"at", ops::schema::nullable(ops::schema::time())}},
                                            "The last row retention deleted")}}),
        .errors = {ErrorCode::conflict},
        .examples = {{"An intact log",
                      json::object(),
                      {{"ok", true},
                       {"checked", 1204},
                       {"unchained", 0},
                       {"head", {{"seq", 1290}, {"hmac", example_entry()["hmac"]}}},
                       {"pruned", {{"seq", 86}, {"at", "2026-01-02T03:04:05.678Z"}}}}}},
    });
    t.add(Op{
        .name = "audit.hash",
        .summary = "A secret value as audit rows store it (hmac-sha256:…): was this value used?",
        .cli_note = "Give the value as \"-\" to read it from stdin. Then `audit list "
                    "--value-hash HASH` finds the rows.",
        .params = {Param{.name = "value",
                         .help = "The secret value",
                         .required = Required::yes,
                         .positional = Positional::yes,
                         .secret = Secret::yes}},
        .permission = "admin",
        .route = {"POST", "/v1/audit/hash"},
        .handler =
            [](Context& ctx, const json& a) {
                return json{{"hash", ctx.service<events::AuditLog>().value_hash(
                                         a["value"].get<std::string>())}};
            },
        .quiet_field = "hash",
        .response = ops::schema::object({{"hash", ops::schema::string()}}),
        .examples = {{"Hash a password",
                      {{"value", "s3cr3t"}},
                      {{"hash", "hmac-sha256:" + example_entry()["hmac"].get<std::string>()}}}},
    });
    t.add(Op{
        .name = "audit.prune",
        .summary = "Delete audit rows older than a duration (never the newest), recording the "
                   "last one deleted so the chain still checks",
        .params = {Param{.name = "older_than",
                         .type = ParamType::duration,
                         .help = "Delete the rows older than this, e.g. 90d",
                         .required = Required::yes}},
        .permission = "admin",
        .mutates = Mutates::yes,
        .route = {"POST", "/v1/audit/prune"},
        .handler =
            [](Context& ctx, const json& a) {
                const auto before = ctx.clock().now() - a["older_than"].get<std::int64_t>();
                return json{{"deleted", ctx.service<events::AuditLog>().prune(before)}};
            },
        .quiet_field = "deleted",
        .response = ops::schema::object({{"deleted", ops::schema::integer()}}),
        .errors = {ErrorCode::conflict},
        .examples = {{"Keep 90 days", {{"older_than", "90d"}}, {{"deleted", 1204}}}},
    });
}

}  // namespace pb::runtime
