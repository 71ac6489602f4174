// The session's ops that are the hub's rather than the op table's:
// subscriptions (each topic pattern needs its read permission) and rooms.
#include "common/core/error.hpp"
#include "common/events/topics.hpp"
#include "common/ops/op.hpp"
#include "daemon/ws/hub.hpp"
#include "daemon/ws/session.hpp"

namespace pb::daemon::http_detail {

using nlohmann::json;

std::optional<json> WsSession::run_hub_op(const std::string& op, const json& args,
                                          const ops::Caller& caller) {
    if (op == "subscribe") {
        check_topic_permissions(caller, args);
        return m_hub.fanout().subscribe(m_id, args);
    }
    if (op == "unsubscribe") {
        return m_hub.fanout().unsubscribe(m_id, args);
    }
    if (op == "join_room") {
        return m_hub.rooms().join(m_id, args);
    }
    if (op == "leave_room") {
        return m_hub.rooms().leave(m_id, args);
    }
    if (op == "room_message") {
        return m_hub.rooms().message(m_id, args);
    }
    if (op == "get_room_info") {
        return m_hub.rooms().info(args);
    }
    return std::nullopt;
}

void WsSession::check_topic_permissions(const ops::Caller& caller, const json& args) {
    const auto it = args.find("topics");
    if (it == args.end()) {
        return;  // the hub explains what is missing
    }
    const json list = it->is_string() ? json::array({*it}) : *it;
    for (const auto& t : list) {
        if (!t.is_string()) {
            continue;
        }
        const auto& pattern = t.get_ref<const std::string&>();
        events::check_pattern(pattern);
        const auto needed = events::read_permission(pattern);
        if (!ops::has_permission(caller.permissions, needed) &&
            !ops::has_permission(caller.permissions, "events:read")) {
            throw Error(
                ErrorCode::permission_denied,
                "subscribing to \"" + pattern + "\" needs the permission \"" + needed + "\"",
                {{"permission", needed}, {"topic", pattern}});
        }
    }
}
}  // namespace pb::daemon::http_detail
