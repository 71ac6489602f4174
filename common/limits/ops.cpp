#include "common/limits/ops.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/core/error.hpp"
#include "common/core/import_file.hpp"
#include "common/core/time_format.hpp"
#include "common/events/outbox.hpp"
#include "common/events/tailer.hpp"
#include "common/limits/ban_io.hpp"
#include "common/limits/ban_service.hpp"
#include "common/limits/service.hpp"
#include "common/ops/paging.hpp"
#include "common/ops/schema.hpp"

namespace pb::limits {
namespace {

using nlohmann::json;
using namespace pb::ops;

const std::vector<std::string> k_ban_columns{"target",     "kind",       "origin", "reason",
                                             "expires_at", "created_by", "active"};

Param force_param() {
    return Param{.name = "force",
                 .type = ParamType::boolean,
                 .help =
                     "Ban even an address or range that holds an address of bans.allow "
                     "(loopback still reaches /health, /ready and /metrics)",
                 .fallback = false};
}

AllowListGuard guard_of(const json& a) {
    return a.value("force", false) ? AllowListGuard::force : AllowListGuard::refuse;
}

Param target_param(std::string help) {
    return Param{.name = "target",
                 .help = std::move(help),
                 .required = Required::yes,
                 .positional = Positional::yes};
}

Param scope_param() {
    return Param{.name = "scope",
                 .help = "What the identifier is",
                 .fallback = "ip",
                 .choices = {"ip", "user", "key"}};
}

Param id_param() {
    return Param{.name = "id",
                 .help = "The identifier: an IP address, a user name or an API key id",
                 .required = Required::yes,
                 .positional = Positional::yes};
}

json bans_json(const std::vector<Ban>& bans, UnixMillis now) {
    json rows = json::array();
    for (const auto& b : bans) {
        rows.push_back(b.to_json(now));
    }
    return json{{"bans", rows}};
}

// Why a ban denies, for people: "banned until <time>: <reason>".
std::string ban_reason(const Ban& b) {
    std::string out = b.expires_at ? "banned until " + format_rfc3339(*b.expires_at)
                                   : std::string("banned permanently");
    return b.reason.empty() ? out : out + ": " + b.reason;
}

std::shared_ptr<const Ban> ban_on_identifier(BanService& bans, Scope scope, const std::string& id) {
    switch (scope) {
        case Scope::ip:
            return bans.match_address(parse_ip_strict(id));
        case Scope::user:
            return bans.match_user(id);
        case Scope::key:
            return bans.match_key(id);
    }
    return nullptr;
}

// The identifier an op acts on, and the counter and policy its requests
// count against (a key's own rate limit, then its identity's override, as
// the daemon's checks choose them).
struct Subject {
    Scope scope;
    std::string id;
    CallerLimit limit;
};

Subject subject(Context& ctx, const json& a) {
    Subject out{*scope_from_string(a["scope"].get<std::string>()), "", {}};
    out.id = canonical_id(out.scope, a["id"].get<std::string>());
    KeyLimitFacts facts;
    if (out.scope == Scope::key) {
        facts = key_limit_facts(ctx.service<store::Store>(), out.id);
    }
    out.limit =
        ctx.service<LimitService>().caller_limit(out.scope, out.id, facts.own, facts.identity);
    return out;
}

json limit_json(Context& ctx, const Subject& sub, const LimitResult& r) {
    auto& limits = ctx.service<LimitService>();
    json j = r.to_json();
    j["scope"] = to_string(sub.scope);
    j["id"] = sub.id;
    const auto& applied = sub.limit.policy;
    if (applied) {
        j["policy"] = applied->policy.to_json();
        j["policy"]["name"] = applied->name;
        j["policy"]["shadow"] = applied->shadow;
    } else {
        j["policy"] = nullptr;
    }
    j["reason"] = r.allowed ? "" : "rate_limited";
    j["counted_in"] = limits.backend();
    return j;
}

OverrideService& overrides(Context& ctx) {
    auto* o = ctx.service<LimitService>().overrides();
    if (o == nullptr) {
        throw Error(ErrorCode::unavailable, "limit overrides need the database");
    }
    return *o;
}

// The JSON Schema of limit_json()'s answer ("LimitDecision").
json limit_schema() {
    using namespace ops::schema;
    return named(
        "LimitDecision",
        object({{"allowed", boolean()},
                {"limit", integer()},
                {"remaining", integer()},
                {"reset_after_ms", integer()},
                {"retry_after_ms", integer()},
                {"degraded", optional(boolean("Redis was unreachable: decided locally"))},
                {"shadow_limited",
                 optional(boolean("A shadow policy would have refused: allowed anyway"))},
                {"scope", choice({"ip", "user", "key"})},
                {"id", string()},
                {"policy", nullable(object(
                               {{"rate", string()},
                                {"burst", integer()},
                                {"name", string("The policy that applied: scope:SCOPE, "
                                                "override:TARGET, or key:ID (a key's own limit)")},
                                {"shadow", boolean("Counts and reports, never refuses")}}))},
                {"reason", choice({"", "rate_limited", "banned"})},
                {"counted_in", string("redis (redis.url), database (pbctl on the database) or "
                                      "memory (pbd)")},
                {"ban", optional(Ban::schema())}}));
}

json example_decision(json changes = json::object()) {
    json j{{"allowed", true},
           {"limit", 100},
           {"remaining", 99},
           {"reset_after_ms", 600},
           {"retry_after_ms", 0},
           {"scope", "user"},
           {"id", "alice"},
           {"policy",
            {{"rate", "100/min"}, {"burst", 100}, {"name", "scope:user"}, {"shadow", false}}},
           {"reason", ""},
           {"counted_in", "memory"}};
    j.update(changes);
    return j;
}

json example_ban(json changes = json::object()) {
    json j{{"id", 7},
           {"target", "203.0.113.7"},
           {"kind", "ip"},
           {"reason", "scanner"},
           {"origin", "manual"},
           {"created_by", "local:ops"},
           {"created_at", "2026-01-02T03:04:05.678Z"},
           {"expires_at", "2026-01-02T07:04:05.678Z"},
           {"active", true}};
    j.update(changes);
    return j;
}

json bans_schema() {
    return ops::schema::object({{"bans", ops::schema::array(Ban::schema())}});
}

// The bans of a validated bans.import: its document is all the op takes (a
// daemon opens no path a caller names; pbctl reads a FILE into the document).
std::vector<ImportRow> import_rows(const json& a, UnixMillis now) {
    if (!a.contains("document")) {
        throw Error(ErrorCode::invalid_argument,
                    "document is required: the bans as {\"bans\":[…]} (pbctl: give a FILE)",
                    {{"param", "document"}, {"pointer", "/document"}, {"expected", "an object"}});
    }
    return parse_ban_json(a["document"], now);
}

// pbctl bans import FILE, on the database and with --server alike: pbctl
// reads its own file and sends the bans as the JSON document, every row
// checked here first, as the op checks them again.
json document_from_file(const json& a) {
    json out = a;
    out.erase("file");
    out.erase("format");
    if (!a.contains("file")) {
        return out;
    }
    if (a.contains("document")) {
        throw Error(ErrorCode::invalid_argument, "give a FILE or --document, not both",
                    {{"param", "document"}});
    }
    const auto format = a["format"].get<std::string>();
    const auto rows = parse_ban_rows(read_import_file(a["file"].get<std::string>()),
                                     format == "csv"    ? BanFileFormat::csv
                                     : format == "json" ? BanFileFormat::json
                                                        : BanFileFormat::automatic,
                                     SystemClock::instance().now());
    json bans = json::array();
    for (const auto& r : rows) {
        bans.push_back(
            {{"target", r.target.text()},
             {"expires_at", r.expires_at ? json(format_rfc3339(*r.expires_at)) : json(nullptr)},
             {"reason", r.reason},
             {"origin", to_string(r.origin)}});
    }
    out["document"] = {{"bans", bans}};
    return out;
}

// One page of the bans `f` selects, in (created_at, id) order: at most
// `limit`, and the cursor of list `list` to the next page (`prefix`, then the
// last ban's position) when more follow. bans.list and bans.stream page alike.
json ban_page(Context& ctx, BanFilter f, std::int64_t limit, std::string_view list, json prefix) {
    f.limit = limit + 1;
    auto bans = ctx.service<BanService>().list(f);
    std::optional<std::string> next;
    if (static_cast<std::int64_t>(bans.size()) > limit) {
        bans.resize(static_cast<std::size_t>(limit));
        prefix.push_back(bans.back().created_at);
        prefix.push_back(bans.back().id);
        next = encode_cursor(list, prefix);
    }
    auto out = bans_json(bans, ctx.clock().now());
    out["next_cursor"] = cursor_json(next);
    return out;
}

// bans.stream: a replica's own view of the bans, with the cursor held by the
// client (so any number of replicas are safe). Without `since`: the bans in
// force, a page at a time, each page naming the outbox position `since` read
// before the first page; then, with `since`: what changed after it, from the
// outbox (topic "bans"). A change made while the pages are read may come
// twice (in a page and after `since`), never not at all.
json bans_stream(Context& ctx, const json& a) {
    auto& store = ctx.service<store::Store>();
    const auto now = ctx.clock().now();
    const auto limit = page_limit(a);
    if (a.contains("since")) {
        const auto page = store.transaction(
            [&](store::Connection& c) {
                return events::read_page(c, a["since"].get<std::int64_t>(), static_cast<int>(limit),
                                         "bans", now);
            },
            store::TxMode::read);
        json changes = json::array();
        for (const auto& e : page.events) {
            changes.push_back(events::to_json(e));
        }
        // The position is the cursor here: no next_cursor.
        return {{"changes", changes},
                {"since", page.position},
                {"more", page.more},
                {"next_cursor", nullptr}};
    }
    const auto at = decode_cursor(a, "bans.stream",
                                  {CursorPart::integer, CursorPart::integer, CursorPart::integer});
    const std::int64_t since =
        at ? (*at)[0].get<std::int64_t>()
           : store.transaction([](store::Connection& c) { return events::latest_seq(c); },
                               store::TxMode::read);
    BanFilter f;
    if (at) {
        f.after = BanFilter::Position{(*at)[1].get<std::int64_t>(), (*at)[2].get<std::int64_t>()};
    }
    auto out = ban_page(ctx, f, limit, "bans.stream", json::array({since}));
    out["since"] = since;
    return out;
}

void register_bans_ops(OpTable& t) {
    t.add(Op{
        .name = "bans.add",
        .summary = "Ban an IP address, a CIDR range, user:NAME or key:ID, for a while or for good",
        .params =
            {
                target_param("203.0.113.7, 2001:db8::/32, user:NAME or key:ID"),
                Param{.name = "for",
                      .type = ParamType::duration,
                      .help = "How long: a duration like 4h or 30d (default: until removed)"},
                Param{.name = "reason", .help = "Why, shown with the ban", .fallback = ""},
                force_param(),
            },
        .permission = "bans:write",
        .mutates = Mutates::yes,
        .route = {"POST", "/v1/bans", 201},
        .handler =
            [](Context& ctx, const json& a) {
                NewBan req{.target = a["target"],
                           .duration_ms = a.contains("for")
                                              ? std::optional(a["for"].get<std::int64_t>())
                                              : std::nullopt,
                           .reason = a["reason"],
                           .guard = guard_of(a)};
                return ctx.service<BanService>()
                    .add(req, ctx.caller.actor)
                    .to_json(ctx.clock().now());
            },
        .quiet_field = "target",
        .audit_target = "target",
        .response = Ban::schema(),
        .errors = {ErrorCode::conflict},
        .examples = {{"Ban an address for 4 hours",
                      {{"target", "203.0.113.7"}, {"for", "4h"}, {"reason", "scanner"}},
                      example_ban()}},
    });
    t.add(Op{
        .name = "bans.list",
        .summary = "List bans in force, oldest first, a page at a time (expired ones too on "
                   "request, until they are purged)",
        .params =
            {
                Param{.name = "scope",
                      .help = "Only bans of this kind",
                      .choices = {"ip", "range", "user", "key"}},
                Param{.name = "include_expired",
                      .type = ParamType::boolean,
                      .help = "Include expired bans",
                      .fallback = false},
                limit_param("bans"),
                cursor_param(),
            },
        .permission = "bans:read",
        .route = {"GET", "/v1/bans"},
        .handler =
            [](Context& ctx, const json& a) {
                BanFilter f;
                if (a.contains("scope")) {
                    f.kind = ban_kind_from_string(a["scope"].get<std::string>());
                }
                f.include_expired = a["include_expired"].get<bool>();
                const auto limit = page_limit(a);
                if (const auto after =
                        decode_cursor(a, "bans", {CursorPart::integer, CursorPart::integer})) {
                    f.after = BanFilter::Position{(*after)[0].get<std::int64_t>(),
                                                  (*after)[1].get<std::int64_t>()};
                }
                return ban_page(ctx, f, limit, "bans", json::array());
            },
        .quiet_field = "target",
        .columns = k_ban_columns,
        .list_field = "bans",
        .response = bans_schema(),
        .examples = {{"Address bans in force", {{"scope", "ip"}}, {{"bans", {example_ban()}}}}},
    });
    t.add(Op{
        .name = "bans.check",
        .summary = "Tell whether an address, range, user:NAME or key:ID is banned",
        .params = {target_param("An address (also matched by ranges), a range, user:NAME, key:ID")},
        .permission = "bans:read",
        .route = {"GET", "/v1/bans/check/{target}"},
        .handler =
            [](Context& ctx, const json& a) {
                const auto text = a["target"].get<std::string>();
                const auto ban = ctx.service<BanService>().check(text);
                return json{{"target", parse_target(text).text()},
                            {"allowed", ban == nullptr},
                            {"banned", ban != nullptr},
                            {"reason", ban ? ban_reason(*ban) : std::string("not banned")},
                            {"ban", ban ? ban->to_json(ctx.clock().now()) : json(nullptr)}};
            },
        .quiet_field = "banned",
        .verdict_field = "allowed",
        .verdict_reason_field = "reason",
        .verdict_code = ErrorCode::banned,
        .response = ops::schema::object({{"target", ops::schema::string()},
                                         {"allowed", ops::schema::boolean()},
                                         {"banned", ops::schema::boolean()},
                                         {"reason", ops::schema::string()},
                                         {"ban", ops::schema::nullable(Ban::schema())}}),
        .examples = {{"An address in a banned range",
                      {{"target", "203.0.113.7"}},
                      {{"target", "203.0.113.7"},
                       {"allowed", false},
                       {"banned", true},
                       {"reason", "banned until 2026-01-02T07:04:05.678Z: scanner"},
                       {"ban", example_ban()}}},
                     {"An address not banned",
                      {{"target", "198.51.100.1"}},
                      {{"target", "198.51.100.1"},
                       {"allowed", true},
                       {"banned", false},
                       {"reason", "not banned"},
                       {"ban", nullptr}}}},
    });
    t.add(Op{
        .name = "bans.remove",
        .summary = "Lift the ban on a target (written as bans list shows it)",
        .params = {target_param("203.0.113.7, 10.0.0.0/8, user:NAME or key:ID")},
        .permission = "bans:write",
        .mutates = Mutates::yes,
        .route = {"DELETE", "/v1/bans/{target}"},
        .handler =
            [](Context& ctx, const json& a) {
                json j = ctx.service<BanService>()
                             .remove(a["target"].get<std::string>())
                             .to_json(ctx.clock().now());
                j["removed"] = true;
                return j;
            },
        .quiet_field = "target",
        .audit_target = "target",
        .response =
            [] {
                auto s = Ban::schema();
                s.erase("title");
                s["properties"]["removed"] = ops::schema::boolean();
                s["required"].push_back("removed");
                return s;
            }(),
        .errors = {ErrorCode::not_found},
        .examples = {{"Lift a ban",
                      {{"target", "203.0.113.7"}},
                      [] {
                          auto j = example_ban();
                          j["removed"] = true;
                          return j;
                      }()}},
    });
    t.add(Op{
        .name = "bans.import",
        .summary = "Add bans from a CSV or JSON file: all of them, or none if any row is bad",
        .params =
            {
                Param{.name = "file",
                      .help = "A CSV (target,expires_at,reason, or a header naming the "
                              "columns) or JSON ({\"bans\":[…]}) file, as bans export -o csv "
                              "or -o json writes it; pbctl reads it and sends it as the document",
                      .positional = Positional::yes,
                      .cli_only = CliOnly::yes},
                Param{.name = "document",
                      .type = ParamType::json_object,
                      .help = "The bans: {\"bans\":[…]}, as bans.export answers them",
                      .required = Required::api,
                      .schema = ban_document_schema()},
                Param{.name = "format",
                      .help = "The FILE's format",
                      .fallback = "auto",
                      .choices = {"auto", "csv", "json"},
                      .cli_only = CliOnly::yes},
                force_param(),
            },
        .permission = "bans:write",
        .mutates = Mutates::yes,
        .route = {"POST", "/v1/bans/import"},
        .handler =
            [](Context& ctx, const json& a) {
                const auto now = ctx.clock().now();
                const auto rows = import_rows(a, now);
                const auto r =
                    ctx.service<BanService>().import(rows, ctx.caller.actor, guard_of(a));
                return json{{"imported", r.imported}, {"skipped_expired", r.skipped_expired}};
            },
        .quiet_field = "imported",
        .from_cli = document_from_file,
        .response = ops::schema::object(
            {{"imported", ops::schema::integer()}, {"skipped_expired", ops::schema::integer()}}),
        .errors = {ErrorCode::conflict},
        .examples = {{"Import bans as bans export prints them",
                      {{"document",
                        {{"bans",
                          {{{"target", "203.0.113.0/24"},
                            {"expires_at", "2027-01-01T00:00:00.000Z"},
                            {"reason", "botnet"}}}}}}},
                      {{"imported", 1}, {"skipped_expired", 0}}}},
    });
    t.add(Op{
        .name = "bans.export",
        .summary = "Every ban in force, as bans.import takes them",
        .cli_note = "pbctl writes them as bans import reads them: -o json or -o csv > FILE.",
        .permission = "bans:read",
        .route = {"GET", "/v1/bans/export"},
        .handler =
            [](Context& ctx, const json&) {
                return bans_json(ctx.service<BanService>().all_active(), ctx.clock().now());
            },
        .quiet_field = "target",
        .columns = k_ban_columns,
        .list_field = "bans",
        .response = bans_schema(),
        .examples = {{"Every ban in force", json::object(), {{"bans", {example_ban()}}}}},
    });
    t.add(Op{
        .name = "bans.stream",
        .summary = "Follow the bans from a replica: without since, the bans in force a page at "
                   "a time and the outbox position they were read at; with since, what changed "
                   "after it (the caller holds the position, so any number of replicas agree)",
        .params = {Param{.name = "since",
                         .type = ParamType::integer,
                         .help = "The outbox position of the last answer: only what changed "
                                 "after it"},
                   limit_param("bans or changes"), cursor_param()},
        .permission = "bans:read",
        .route = {"GET", "/v1/bans/stream"},
        .handler = bans_stream,
        .response = ops::schema::object(
            {{"bans", ops::schema::optional(ops::schema::array(Ban::schema()))},
             {"changes", ops::schema::optional(ops::schema::array(ops::schema::object(
                             {{"event", ops::schema::string("ban.added, ban.removed, …")},
                              {"topic", ops::schema::string()},
                              {"seq", ops::schema::integer()},
                              {"data", ops::schema::free_object("The ban, as bans.list shows it")},
                              {"created_at", ops::schema::time("When")}})))},
             {"since", ops::schema::integer("The position to ask from next")},
             {"more", ops::schema::optional(ops::schema::boolean("More changes wait now"))}}),
        .examples = {{"The bans in force, first page",
                      {{"limit", 1000}},
                      {{"bans", {example_ban()}}, {"since", 42}, {"next_cursor", nullptr}}},
                     {"What changed since",
                      {{"since", 0}},
                      {{"changes",
                        {{{"event", "ban.added"},
                          {"topic", "bans"},
                          {"seq", 43},
                          {"data", example_ban()},
                          {"created_at", "2026-01-02T03:04:05.678Z"}}}},
                       {"since", 43},
                       {"more", false},
                       {"next_cursor", nullptr}}}},
    });
}

void register_rate_ops(OpTable& t) {
    t.add(Op{
        .name = "limits.check",
        .summary = "Spend one request (or cost) of an identifier's rate limit, under the policy "
                   "that applies (an override, else the scope's). Counters live in Redis when "
                   "redis.url is set (shared by every pbd and pbctl), else in pbd's memory, or in "
                   "the database for pbctl on the database",
        .cli_note = "On the database without Redis, pbctl counts in the database (counted_in: "
                    "database), so runs share one count (scripts, cron jobs); pbd counts in its "
                    "own memory, apart from it: use --server to count in pbd. With redis.url "
                    "set, pbctl and every pbd share the counts in Redis.",
        .params =
            {
                id_param(),
                scope_param(),
                Param{.name = "cost",
                      .type = ParamType::integer,
                      .help = "How many requests this one counts for",
                      .fallback = 1,
                      .min = 1},
            },
        .permission = "limits:read",
        .route = {"POST", "/v1/limits/check"},
        .handler =
            [](Context& ctx, const json& a) {
                const auto sub = subject(ctx, a);
                if (const auto ban =
                        ban_on_identifier(ctx.service<BanService>(), sub.scope, sub.id)) {
                    json j = limit_json(ctx, sub,
                                        ctx.service<LimitService>().status_applied(
                                            sub.scope, sub.limit.id, sub.limit.policy));
                    j["allowed"] = false;
                    j["reason"] = "banned";
                    j["ban"] = ban->to_json(ctx.clock().now());
                    return j;
                }
                const auto r = ctx.service<LimitService>().check_applied(
                    sub.scope, sub.limit.id, a["cost"].get<std::int64_t>(), sub.limit.policy);
                return limit_json(ctx, sub, r);
            },
        .quiet_field = "remaining",
        .verdict_field = "allowed",
        .verdict_reason_field = "reason",
        .verdict_code = ErrorCode::rate_limited,
        .response = limit_schema(),
        .examples = {{"Spend one request of a user's limit",
                      {{"scope", "user"}, {"id", "alice"}},
                      example_decision()},
                     {"A user over their limit",
                      {{"scope", "user"}, {"id", "alice"}},
                      example_decision({{"allowed", false},
                                        {"remaining", 0},
                                        {"retry_after_ms", 600},
                                        {"reason", "rate_limited"}})}},
    });
    t.add(Op{
        .name = "limits.status",
        .summary = "An identifier's remaining requests and reset time, and the policy that "
                   "applies, spending nothing (counters as limits check counts them)",
        .cli_note = "On the database without Redis, pbctl reads the database's counters; "
                    "--server reads pbd's.",
        .params = {id_param(), scope_param()},
        .permission = "limits:read",
        .route = {"GET", "/v1/limits/{scope}/{id}"},
        .handler =
            [](Context& ctx, const json& a) {
                const auto sub = subject(ctx, a);
                return limit_json(ctx, sub,
                                  ctx.service<LimitService>().status_applied(
                                      sub.scope, sub.limit.id, sub.limit.policy));
            },
        .quiet_field = "remaining",
        .response = limit_schema(),
        .examples = {{"A user's remaining requests",
                      {{"scope", "user"}, {"id", "alice"}},
                      example_decision({{"remaining", 100}, {"reset_after_ms", 0}})}},
    });
    t.add(Op{
        .name = "limits.reset",
        .summary = "Give an identifier its whole burst back (counters as limits check counts "
                   "them: a key of an identity with an identity:ID override shares, and gets "
                   "back, its identity's)",
        .cli_note = "On the database without Redis, pbctl resets the database's counter; "
                    "--server resets pbd's.",
        .params = {id_param(), scope_param()},
        .permission = "limits:write",
        .mutates = Mutates::yes,
        .route = {"DELETE", "/v1/limits/{scope}/{id}"},
        .handler =
            [](Context& ctx, const json& a) {
                // The counter its checks spend: a key counted with its
                // identity (an identity:ID override) gives the identity's back.
                const auto sub = subject(ctx, a);
                const bool was = ctx.service<LimitService>().reset(sub.scope, sub.limit.id);
                return json{{"scope", to_string(sub.scope)},
                            {"id", sub.id},
                            {"reset", true},
                            {"was_tracked", was}};
            },
        .audit_target = "id",
        .response = ops::schema::object({{"scope", ops::schema::choice({"ip", "user", "key"})},
                                         {"id", ops::schema::string()},
                                         {"reset", ops::schema::boolean()},
                                         {"was_tracked", ops::schema::boolean()}}),
        .examples =
            {{"Give a user their burst back",
              {{"scope", "user"}, {"id", "alice"}},
              {{"scope", "user"}, {"id", "alice"}, {"reset", true}, {"was_tracked", true}}}},
    });
}

json example_override(json changes = json::object()) {
    json j{{"id", 3},
           {"target", "ip:203.0.113.0/24"},
           {"scope", "ip"},
           {"kind", "cidr"},
           {"rate", "1000/min"},
           {"burst", 1000},
           {"shadow", false},
           {"reason", "partner office"},
           {"policy", "override:ip:203.0.113.0/24"},
           {"created_at", "2026-01-02T03:04:05.678Z"},
           {"created_by", "local:ops"}};
    j.update(changes);
    return j;
}

Param override_target_param(std::string help) {
    return Param{.name = "target",
                 .help = std::move(help),
                 .required = Required::yes,
                 .positional = Positional::yes};
}

void register_override_ops(OpTable& t) {
    t.add(Op{
        .name = "limits.override.set",
        .summary = "Give an address, a range, a user (or users matching a glob), a key or an "
                   "identity its own rate instead of its scope's policy (replacing any override "
                   "of that target)",
        .cli_note = "Precedence: a key's own limit, then its identity's, then overrides (an exact "
                    "value, then a CIDR range, longest prefix first, then a glob, longest literal "
                    "prefix first, then the newest), then the scope's policy. pbd applies a "
                    "change at its next check.",
        .params =
            {
                override_target_param(
                    "ip:ADDRESS, ip:CIDR (203.0.113.0/24), user:NAME, user:GLOB (acme-*, * and "
                    "?), key:ID, key:GLOB or identity:ID"),
                Param{.name = "rate",
                      .help = "The rate: N/s, N/min, N/h, N/d, or N/unit,BURST (1000/min)",
                      .required = Required::yes,
                      .positional = Positional::yes},
                Param{.name = "shadow",
                      .type = ParamType::boolean,
                      .help = "Count and report (shadow_limited, pb_limit_shadow_denied_total) "
                              "but never refuse",
                      .fallback = false},
                Param{.name = "reason", .help = "Why, shown with the override", .fallback = ""},
            },
        .permission = "limits:write",
        .mutates = Mutates::yes,
        .route = {"POST", "/v1/limits/overrides", 201},
        .handler =
            [](Context& ctx, const json& a) {
                return overrides(ctx)
                    .set(NewOverride{.target = a["target"],
                                     .rate = a["rate"],
                                     .shadow = a["shadow"].get<bool>(),
                                     .reason = a["reason"]},
                         ctx.caller.actor)
                    .to_json();
            },
        .quiet_field = "target",
        .audit_target = "target",
        .response = Override::schema(),
        .examples =
            {{"A range gets 1000 requests a minute",
              {{"target", "ip:203.0.113.0/24"}, {"rate", "1000/min"}, {"reason", "partner office"}},
              example_override()},
             {"Watch a stricter limit on a customer's users before it refuses",
              {{"target", "user:acme-*"}, {"rate", "10/min"}, {"shadow", true}},
              example_override({{"id", 4},
                                {"target", "user:acme-*"},
                                {"scope", "user"},
                                {"kind", "glob"},
                                {"rate", "10/min"},
                                {"burst", 10},
                                {"shadow", true},
                                {"reason", ""},
                                {"policy", "override:user:acme-*"}})}},
    });
    t.add(Op{
        .name = "limits.override.list",
        .summary = "List the overrides of the scopes' policies, by target, a page at a time",
        .params = {limit_param("overrides"), cursor_param()},
        .permission = "limits:read",
        .route = {"GET", "/v1/limits/overrides"},
        .handler =
            [](Context& ctx, const json& a) {
                const auto all = overrides(ctx).list();
                const auto [page, next] = page_by_name(
                    all, "limits.overrides", a, [](const Override& o) { return o.target.text(); });
                json rows = json::array();
                for (const auto& o : page) {
                    rows.push_back(o.to_json());
                }
                return json{{"overrides", rows}, {"next_cursor", cursor_json(next)}};
            },
        .quiet_field = "target",
        .columns = {"target", "kind", "rate", "burst", "shadow", "reason", "created_by"},
        .list_field = "overrides",
        .response = ops::schema::object({{"overrides", ops::schema::array(Override::schema())}}),
        .examples = {{"The first page of overrides",
                      json::object(),
                      {{"overrides", {example_override()}}}}},
    });
    t.add(Op{
        .name = "limits.override.remove",
        .summary = "Remove the override of a target (written as limits override list shows it): "
                   "the scope's policy applies again",
        .params = {override_target_param("The target: ip:203.0.113.0/24, user:acme-*, …")},
        .permission = "limits:write",
        .mutates = Mutates::yes,
        .route = {"DELETE", "/v1/limits/overrides/{target...}"},
        .handler =
            [](Context& ctx, const json& a) {
                json j = overrides(ctx).remove(a["target"].get<std::string>()).to_json();
                j["removed"] = true;
                return j;
            },
        .quiet_field = "target",
        .audit_target = "target",
        .response =
            [] {
                auto s = Override::schema();
                s.erase("title");
                s["properties"]["removed"] = ops::schema::boolean();
                s["required"].push_back("removed");
                return s;
            }(),
        .errors = {ErrorCode::not_found},
        .examples = {{"Remove an override",
                      {{"target", "ip:203.0.113.0/24"}},
                      [] {
                          auto j = example_override();
                          j["removed"] = true;
                          return j;
                      }()}},
    });
}

}  // namespace

void register_limits_ops(OpTable& t) {
    register_bans_ops(t);
    register_rate_ops(t);
    register_override_ops(t);
}

}  // namespace pb::limits
