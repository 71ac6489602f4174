// The handlers of the table's WebSocket ops that are the hub's:
// subscriptions (each topic pattern needs its read permission besides the
// op's) and rooms (the op's permission, checked by dispatch(), is all).
#include "common/core/error.hpp"
#include "common/events/topics.hpp"
#include "common/ops/op.hpp"
#include "daemon/ws/hub.hpp"
#include "daemon/ws/session.hpp"

namespace pb::daemon::http_detail {

using nlohmann::json;

json WsSession::subscribe(const json& args, const ops::Caller& caller) {
    check_topic_permissions(caller, args);
    return m_hub.fanout().subscribe(m_id, args);
}

json WsSession::unsubscribe(const json& args, const ops::Caller&) {
    return m_hub.fanout().unsubscribe(m_id, args);
}

json WsSession::join_room(const json& args, const ops::Caller&) {
    return m_hub.rooms().join(m_id, args);
}

json WsSession::leave_room(const json& args, const ops::Caller&) {
    return m_hub.rooms().leave(m_id, args);
}

json WsSession::room_message(const json& args, const ops::Caller&) {
    return m_hub.rooms().message(m_id, args);
}

json WsSession::get_room_info(const json& args, const ops::Caller&) {
    return m_hub.rooms().info(args);
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
