// Rooms: sessions that join a name and relay messages to its other members.
// In pbd's memory only; guarded by the hub's mutex like the subscriptions.
#include "common/core/error.hpp"
#include "daemon/ws_hub.hpp"

namespace pb::daemon {
namespace {

using nlohmann::json;

constexpr std::size_t k_max_rooms = 100;

std::shared_ptr<const std::string> frame(const json& j) {
    return std::make_shared<const std::string>(
        j.dump(-1, ' ', false, json::error_handler_t::replace));
}

std::string room_arg(const json& args) {
    const auto it = args.find("room");
    if (it == args.end() || !it->is_string() || it->get_ref<const std::string&>().empty() ||
        it->get_ref<const std::string&>().size() > 200) {
        throw Error(ErrorCode::invalid_argument, "room: required, a name of 1 to 200 bytes",
                    {{"param", "room"}});
    }
    for (unsigned char c : it->get_ref<const std::string&>()) {
        if (c < 0x20 || c == 0x7f) {
            throw Error(ErrorCode::invalid_argument, "room: control characters are not allowed",
                        {{"param", "room"}});
        }
    }
    return it->get<std::string>();
}

}  // namespace

json WsHub::join_room(std::uint64_t session, const json& args) {
    const auto room = room_arg(args);
    std::lock_guard lock(m_mutex);
    auto& s = session_of(session);
    if (!s.rooms.contains(room)) {
        if (s.rooms.size() >= k_max_rooms) {
            throw Error(ErrorCode::invalid_argument, "a connection joins at most 100 rooms",
                        {{"param", "room"}});
        }
        const auto joined = frame({{"event", "room.joined"},
                                   {"room", room},
                                   {"member", {{"session", session}, {"actor", s.actor}}}});
        auto& members = m_rooms[room];
        for (const auto m : members) {
            if (auto sink = sink_of(m)) {
                sink->push(joined);
            }
        }
        members.insert(session);
        s.rooms.insert(room);
    }
    return {{"room", room}, {"members", m_rooms[room].size()}, {"session", session}};
}

json WsHub::leave_room(std::uint64_t session, const json& args) {
    const auto room = room_arg(args);
    std::lock_guard lock(m_mutex);
    auto& s = session_of(session);
    if (!s.rooms.erase(room)) {
        throw Error(ErrorCode::not_found, "not a member of room \"" + room + "\"",
                    {{"room", room}});
    }
    auto& members = m_rooms[room];
    members.erase(session);
    const auto left = frame({{"event", "room.left"},
                             {"room", room},
                             {"member", {{"session", session}, {"actor", s.actor}}}});
    for (const auto m : members) {
        if (auto sink = sink_of(m)) {
            sink->push(left);
        }
    }
    if (members.empty()) {
        m_rooms.erase(room);
    }
    return {{"room", room}, {"left", true}};
}

json WsHub::room_message(std::uint64_t session, const json& args) {
    const auto room = room_arg(args);
    const auto data = args.find("data");
    if (data == args.end()) {
        throw Error(ErrorCode::invalid_argument, "data: required, any JSON value",
                    {{"param", "data"}});
    }
    std::lock_guard lock(m_mutex);
    auto& s = session_of(session);
    if (!s.rooms.contains(room)) {
        throw Error(ErrorCode::permission_denied, "join room \"" + room + "\" before sending to it",
                    {{"room", room}});
    }
    const auto message = frame({{"event", "room.message"},
                                {"room", room},
                                {"from", {{"session", session}, {"actor", s.actor}}},
                                {"data", *data}});
    std::int64_t delivered = 0;
    for (const auto m : m_rooms[room]) {
        if (m == session) {
            continue;
        }
        if (auto sink = sink_of(m)) {
            sink->push(message);
            ++delivered;
        }
    }
    return {{"room", room}, {"delivered", delivered}};
}

json WsHub::room_info(std::uint64_t, const json& args) {
    const auto room = room_arg(args);
    std::lock_guard lock(m_mutex);
    json members = json::array();
    if (const auto it = m_rooms.find(room); it != m_rooms.end()) {
        for (const auto m : it->second) {
            members.push_back({{"session", m}, {"actor", m_sessions[m].actor}});
        }
    }
    return {{"room", room}, {"count", members.size()}, {"members", members}};
}

}  // namespace pb::daemon
