#include "common/states/ops.hpp"

#include "common/core/error.hpp"
#include "common/ops/paging.hpp"
#include "common/ops/schema.hpp"
#include "common/ops/validate.hpp"
#include "common/states/service.hpp"

namespace pb::states {
namespace {

using nlohmann::json;
using namespace pb::ops;

std::vector<std::string> names(auto values) {
    std::vector<std::string> out;
    for (const auto v : values) {
        out.emplace_back(to_string(v));
    }
    return out;
}

const std::vector<std::string> k_state_columns{"id",         "type",       "status",    "version",
                                               "updated_at", "updated_by", "expires_at"};
const std::vector<std::string> k_history_columns{"version", "transition", "status",
                                                 "actor",   "at",         "data"};

Param id_param() {
    return Param{.name = "id",
                 .help = "The state's name (letters, digits, . _ - : @)",
                 .required = Required::yes,
                 .positional = Positional::yes,
                 .values_from = {"states.list", "id"}};
}

Param if_version_param() {
    return Param{.name = "if_version",
                 .type = ParamType::integer,
                 .help = "Only if the state is still at this version (else conflict)",
                 .min = 1};
}

Param ttl_param(std::string help) {
    return Param{.name = "ttl", .type = ParamType::duration, .help = std::move(help)};
}

std::vector<Transition> parse_allowed(const json& list) {
    std::vector<Transition> out;
    for (const auto& item : list) {
        const auto t = transition_from_string(item.get<std::string>());
        if (!t) {
            throw Error(ErrorCode::invalid_argument,
                        "allowed_transitions: \"" + item.get<std::string>() +
                            "\" is not a transition (create, update, delete, activate, "
                            "deactivate, suspend, resume, expire, renew)",
                        {{"param", "allowed_transitions"}});
        }
        if (std::find(out.begin(), out.end(), *t) == out.end()) {
            out.push_back(*t);
        }
    }
    return out;
}

json example_state(json changes = json::object()) {
    json row{{"id", "feature.checkout"},
             {"type", "feature"},
             {"status", "active"},
             {"version", 1},
             {"data", {{"enabled", true}, {"percent", 10}}},
             {"allowed_transitions", nullptr},
             {"created_at", "2026-01-02T03:04:05.678Z"},
             {"created_by", "local:ops"},
             {"updated_at", "2026-01-02T03:04:05.678Z"},
             {"updated_by", "local:ops"},
             {"expires_at", nullptr},
             {"ttl_ms", nullptr}};
    row.update(changes);
    return row;
}

}  // namespace

void register_states_ops(OpTable& t) {
    t.add(Op{
        .name = "states.register",
        .summary = "Create a named state (status active, version 1)",
        .params =
            {
                id_param(),
                Param{.name = "type",
                      .help = "What it describes",
                      .required = Required::yes,
                      .choices = names(k_all_types)},
                Param{.name = "data",
                      .type = ParamType::json_object,
                      .help = "Its data, an object",
                      .fallback = json::object()},
                Param{.name = "allowed_transitions",
                      .type = ParamType::string_list,
                      .help = "Allow only this transition (repeatable; default: all the table "
                              "allows)",
                      .flag = "allow"},
                ttl_param("Expire by itself this long after creation and each renew (e.g. 30m)"),
            },
        .permission = "states:write",
        .mutates = Mutates::yes,
        .route = {"POST", "/v1/states", 201},
        .handler =
            [](Context& ctx, const json& a) {
                NewState req{.id = a["id"],
                             .type = *type_from_string(a["type"].get<std::string>()),
                             .data = a["data"],
                             .ttl_ms = optional_int(a, "ttl")};
                if (a.contains("allowed_transitions"))
                    req.allowed = parse_allowed(a["allowed_transitions"]);
                return ctx.service<StateService>().register_state(req, ctx.caller.actor).to_json();
            },
        .quiet_field = "version",
        .audit_target = "id",
        .response = State::schema(),
        .errors = {ErrorCode::conflict},
        .examples = {{"A feature flag",
                      {{"id", "feature.checkout"},
                       {"type", "feature"},
                       {"data", {{"enabled", true}, {"percent", 10}}}},
                      example_state()}},
    });
    t.add(Op{
        .name = "states.get",
        .summary = "Show a state: its data, type, status, version and times",
        .params = {id_param()},
        .permission = "states:read",
        .route = {"GET", "/v1/states/{id}"},
        .handler =
            [](Context& ctx, const json& a) {
                return ctx.service<StateService>().get(a["id"].get<std::string>()).to_json();
            },
        .quiet_field = "status",
        .response = State::schema(),
        .errors = {ErrorCode::not_found},
        .examples = {{"One state", {{"id", "feature.checkout"}}, example_state()}},
    });
    t.add(Op{
        .name = "states.update",
        .summary = "Change a state's data: merged into it (RFC 7386; null removes a field), or "
                   "replacing it",
        .params =
            {
                id_param(),
                Param{.name = "data",
                      .type = ParamType::json_object,
                      .help = "The data, an object",
                      .required = Required::yes},
                Param{.name = "replace",
                      .type = ParamType::boolean,
                      .help = "Replace the data instead of merging",
                      .fallback = false},
                if_version_param(),
                Param{
                    .name = "transition",
                    .help = "Also move the state, in the same change (one version, one "
                            "history row, one event named for the transition)",
                    .choices = {"activate", "deactivate", "suspend", "resume", "expire", "renew"}},
            },
        .permission = "states:write",
        .mutates = Mutates::yes,
        .route = {"PATCH", "/v1/states/{id}"},
        .handler =
            [](Context& ctx, const json& a) {
                StateUpdate u{
                    .id = a["id"],
                    .data = a["data"],
                    .mode = a["replace"].get<bool>() ? UpdateMode::replace : UpdateMode::merge,
                    .if_version = optional_int(a, "if_version")};
                if (a.contains("transition") && a["transition"].is_string()) {
                    u.transition = transition_from_string(a["transition"].get<std::string>());
                }
                return ctx.service<StateService>().update(u, ctx.caller.actor).to_json();
            },
        .quiet_field = "version",
        .audit_target = "id",
        .response = State::schema(),
        .errors = {ErrorCode::not_found, ErrorCode::conflict},
        .examples = {{"Merge a field, only at version 1",
                      {{"id", "feature.checkout"}, {"data", {{"percent", 50}}}, {"if_version", 1}},
                      example_state(
                          {{"version", 2}, {"data", {{"enabled", true}, {"percent", 50}}}})}},
    });
    t.add(Op{
        .name = "states.transition",
        .summary = "Move a state: activate, deactivate, suspend, resume, expire or renew",
        .params =
            {
                id_param(),
                Param{
                    .name = "transition",
                    .help = "What to do",
                    .required = Required::yes,
                    .positional = Positional::yes,
                    .choices = {"activate", "deactivate", "suspend", "resume", "expire", "renew"}},
                if_version_param(),
                ttl_param("With renew: a new time to live (default: the state's own)"),
            },
        .permission = "states:write",
        .mutates = Mutates::yes,
        .route = {"POST", "/v1/states/{id}/transition"},
        .handler =
            [](Context& ctx, const json& a) {
                return ctx.service<StateService>()
                    .transition(a["id"].get<std::string>(),
                                *transition_from_string(a["transition"].get<std::string>()),
                                optional_int(a, "if_version"), optional_int(a, "ttl"),
                                ctx.caller.actor)
                    .to_json();
            },
        .quiet_field = "status",
        .audit_target = "id",
        .response = State::schema(),
        .errors = {ErrorCode::not_found, ErrorCode::conflict},
        .examples = {{"Suspend a state",
                      {{"id", "feature.checkout"}, {"transition", "suspend"}},
                      example_state({{"version", 2}, {"status", "suspended"}})}},
    });
    t.add(Op{
        .name = "states.history",
        .summary = "A state's changes, newest first: transition, data, who, when, version",
        .params = {id_param(), Param{.name = "limit",
                                     .type = ParamType::integer,
                                     .help = "At most this many entries",
                                     .fallback = 100,
                                     .min = 1}},
        .permission = "states:read",
        .route = {"GET", "/v1/states/{id}/history"},
        .handler =
            [](Context& ctx, const json& a) {
                json rows = json::array();
                for (const auto& h : ctx.service<StateService>().history(
                         a["id"].get<std::string>(), a["limit"].get<std::int64_t>())) {
                    rows.push_back(h.to_json());
                }
                return json{{"id", a["id"]}, {"history", rows}};
            },
        .columns = k_history_columns,
        .list_field = "history",
        .response = ops::schema::object({{"id", ops::schema::string()},
                                         {"history", ops::schema::array(HistoryEntry::schema())}}),
        .errors = {ErrorCode::not_found},
        .examples = {{"The last change",
                      {{"id", "feature.checkout"}, {"limit", 1}},
                      {{"id", "feature.checkout"},
                       {"history",
                        {{{"version", 1},
                          {"transition", "create"},
                          {"status", "active"},
                          {"data", {{"enabled", true}, {"percent", 10}}},
                          {"actor", "local:ops"},
                          {"at", "2026-01-02T03:04:05.678Z"}}}}}}},
    });
    t.add(Op{
        .name = "states.list",
        .summary = "List states in id order, a page at a time",
        .params =
            {
                Param{.name = "type",
                      .help = "Only states of this type",
                      .choices = names(k_all_types)},
                Param{.name = "status",
                      .help = "Only states in this status",
                      .choices = names(k_all_statuses)},
                limit_param("states"),
                cursor_param(),
            },
        .permission = "states:read",
        .route = {"GET", "/v1/states"},
        .handler =
            [](Context& ctx, const json& a) {
                ListFilter f;
                if (a.contains("type"))
                    f.type = type_from_string(a["type"].get<std::string>());
                if (a.contains("status"))
                    f.status = status_from_string(a["status"].get<std::string>());
                f.limit = a["limit"].get<std::int64_t>();
                if (a.contains("cursor"))
                    f.cursor = a["cursor"].get<std::string>();
                const auto page = ctx.service<StateService>().list(f);
                json rows = json::array();
                for (const auto& s : page.states) {
                    rows.push_back(s.to_json());
                }
                return json{
                    {"states", rows},
                    {"next_cursor", page.next_cursor ? json(*page.next_cursor) : json(nullptr)}};
            },
        .quiet_field = "id",
        .columns = k_state_columns,
        .list_field = "states",
        .response = ops::schema::object(
            {{"states", ops::schema::array(State::schema())},
             {"next_cursor", ops::schema::nullable(ops::schema::string("null on the last page"))}}),
        .examples = {{"Feature flags, 100 at a time",
                      {{"type", "feature"}},
                      {{"states", {example_state()}}, {"next_cursor", nullptr}}}},
    });
    t.add(Op{
        .name = "states.delete",
        .summary = "Delete a state (its history stays)",
        .params = {id_param(), if_version_param()},
        .permission = "states:write",
        .mutates = Mutates::yes,
        .route = {"DELETE", "/v1/states/{id}"},
        .handler =
            [](Context& ctx, const json& a) {
                auto j = ctx.service<StateService>()
                             .remove(a["id"].get<std::string>(), optional_int(a, "if_version"),
                                     ctx.caller.actor)
                             .to_json();
                j["deleted"] = true;
                return j;
            },
        .audit_target = "id",
        .response =
            [] {
                auto s = State::schema();
                s.erase("title");
                s["properties"]["deleted"] = ops::schema::boolean();
                s["required"].push_back("deleted");
                return s;
            }(),
        .errors = {ErrorCode::not_found, ErrorCode::conflict},
        .examples = {{"Delete a state",
                      {{"id", "feature.checkout"}},
                      [] {
                          auto j = example_state();
                          j["deleted"] = true;
                          return j;
                      }()}},
    });
}

}  // namespace pb::states
