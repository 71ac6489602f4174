#include "common/runtime/event_ops.hpp"

#include "common/events/outbox.hpp"
#include "common/events/tailer.hpp"
#include "common/events/topics.hpp"
#include "common/ops/paging.hpp"
#include "common/ops/schema.hpp"
#include "common/runtime/services.hpp"

namespace pb::runtime {
namespace {

using nlohmann::json;
using ops::Op;
using ops::Param;
using ops::ParamType;

constexpr std::string_view k_list = "events";

json list_events(Services& s, const json& a) {
    const auto pattern = a.value("topic", std::string("*"));
    events::check_pattern(pattern);
    const auto limit = ops::page_limit(a);
    std::int64_t after = a.value("since", std::int64_t{0});
    if (const auto position = ops::decode_cursor(a, k_list, {ops::CursorPart::integer})) {
        after = (*position)[0].get<std::int64_t>();
    }
    const auto page = s.store().transaction(
        [&](store::Connection& c) {
            return events::read_page(c, after, static_cast<int>(limit), pattern, s.clock().now());
        },
        store::TxMode::read);
    json rows = json::array();
    for (const auto& e : page.events) {
        rows.push_back(events::to_json(e));
    }
    return {{"events", rows},
            {"next_cursor", ops::cursor_json(page.more ? std::optional(ops::encode_cursor(
                                                             k_list, json::array({page.position})))
                                                       : std::nullopt)}};
}

Op events_list_op() {
    using namespace ops::schema;
    return Op{
        .name = "events.list",
        .summary =
            "The event outbox, oldest first, a page at a time: what WebSocket "
            "subscribers are pushed (a subscription needs only its topic group's read "
            "permission; this list, events:read). A page of a rare topic reads at most 10,000 "
            "events to fill itself, so it can be short and still have a next_cursor",
        .params =
            {
                Param{.name = "topic",
                      .help = "Only this topic pattern: \"keys/ID\" exactly, \"keys\" and all "
                              "under it, \"states/user_*\" by prefix, \"*\" every topic",
                      .fallback = "*"},
                Param{.name = "since",
                      .type = ParamType::integer,
                      .help = "Start after this seq (0: the oldest kept) when no cursor is given",
                      .fallback = 0},
                ops::limit_param("events"),
                ops::cursor_param(),
            },
        .permission = "events:read",
        .route = {"GET", "/v1/events"},
        .handler = [](ops::Context& ctx,
                      const json& a) { return list_events(ctx.service<Services>(), a); },
        .columns = {"seq", "event", "topic", "created_at"},
        .list_field = "events",
        .response = object({{"events", array(object({{"event", string("What happened")},
                                                     {"topic", string()},
                                                     {"seq", integer()},
                                                     {"data", free_object()},
                                                     {"created_at", time("When")}}))}}),
        .examples = {{"The changes to states, oldest first",
                      {{"topic", "states"}, {"limit", 2}},
                      {{"events",
                        {{{"event", "state.registered"},
                          {"topic", "states/feature-x"},
                          {"seq", 41},
                          {"data", {{"id", "feature-x"}, {"version", 1}}},
                          {"created_at", "2026-01-02T03:04:05.678Z"}}}},
                       {"next_cursor", nullptr}}}}};
}

}  // namespace

void register_event_ops(ops::OpTable& t) {
    t.add(events_list_op());
}

}  // namespace pb::runtime
