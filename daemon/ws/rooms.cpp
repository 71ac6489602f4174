// Membership is in pbd's memory, guarded by one mutex; with Redis, joins,
// leaves and messages are also announced to the other daemons.
#include "daemon/ws/rooms.hpp"

#include <random>
#include <unistd.h>

#include "common/core/error.hpp"
#include "common/core/json_parse.hpp"
#include "common/core/log.hpp"
#include "common/redis/client.hpp"
#include "common/redis/event_bus.hpp"
#include "daemon/ws/message.hpp"

namespace pb::daemon::ws {
namespace {

using nlohmann::json;

constexpr std::size_t k_max_rooms = 100;
// A daemon's liveness key lasts this long and is refreshed three times as often.
constexpr auto k_daemon_ttl = std::chrono::seconds(30);
constexpr auto k_heartbeat = std::chrono::seconds(10);

std::string new_daemon_id() {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    std::random_device random;
    char suffix[9];
    std::snprintf(suffix, sizeof suffix, "%08x", random());
    return std::string(host) + ":" + std::to_string(::getpid()) + ":" + suffix;
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

void Rooms::relay(redis::EventBus& bus, redis::Client& client) {
    m_bus = &bus;
    m_redis = &client;
    m_daemon_id = new_daemon_id();
    bus.on_channel(client.key("rooms"), [this](std::string_view payload) { on_relayed(payload); });
}

void Rooms::add(std::uint64_t session, std::weak_ptr<WsSink> sink, const std::string& actor) {
    std::lock_guard lock(m_mutex);
    auto& m = m_members[session];
    m.sink = std::move(sink);
    m.actor = actor;
}

void Rooms::remove(std::uint64_t session) {
    std::lock_guard lock(m_mutex);
    const auto it = m_members.find(session);
    if (it == m_members.end()) {
        return;
    }
    for (const auto& room : std::set<std::string>(it->second.rooms)) {
        leave_locked(session, it->second, room);
    }
    m_members.erase(it);
}

std::size_t Rooms::count() const {
    std::lock_guard lock(m_mutex);
    return m_rooms.size();
}

Rooms::Member& Rooms::member(std::uint64_t session) {
    const auto it = m_members.find(session);
    if (it == m_members.end()) {
        throw Error(ErrorCode::unavailable, "the connection is closing");
    }
    return it->second;
}

json Rooms::member_json(std::uint64_t session, const std::string& actor) const {
    json j{{"session", session}, {"actor", actor}};
    if (m_bus != nullptr) {
        j["daemon"] = m_daemon_id;  // session numbers are per daemon
    }
    return j;
}

void Rooms::deliver(const std::string& room, const WsFrame& frame, std::uint64_t except) {
    const auto it = m_rooms.find(room);
    if (it == m_rooms.end()) {
        return;
    }
    for (const auto id : it->second) {
        if (id == except) {
            continue;
        }
        if (const auto m = m_members.find(id); m != m_members.end()) {
            if (auto sink = m->second.sink.lock()) {
                sink->push(frame);
            }
        }
    }
}

void Rooms::announce(const std::string& room, const WsFrame& frame) {
    if (m_bus == nullptr) {
        return;
    }
    m_bus->send({"PUBLISH", m_redis->key("rooms"),
                 json{{"origin", m_daemon_id}, {"room", room}, {"frame", *frame}}.dump()});
}

void Rooms::on_relayed(std::string_view payload) {
    const auto j = parse_json_or_discarded(payload, {k_max_stored_json_depth});
    if (!j.is_object() || !j["origin"].is_string() || !j["room"].is_string() ||
        !j["frame"].is_string() || j["origin"] == m_daemon_id) {
        return;  // our own announcement, or not one
    }
    const auto frame = std::make_shared<const std::string>(j["frame"].get<std::string>());
    std::lock_guard lock(m_mutex);
    deliver(j["room"].get<std::string>(), frame, 0);
}

void Rooms::heartbeat() {
    if (m_bus == nullptr) {
        return;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now < m_next_heartbeat) {
        return;
    }
    m_next_heartbeat = now + k_heartbeat;
    send_heartbeat();
}

void Rooms::send_heartbeat() {
    m_bus->send({"SET", m_redis->key("daemon:" + m_daemon_id), "1", "PX",
                 std::to_string(std::chrono::milliseconds(k_daemon_ttl).count())});
}

void Rooms::withdraw_daemon() {
    if (m_bus != nullptr) {
        m_bus->send({"DEL", m_redis->key("daemon:" + m_daemon_id)});
    }
}

void Rooms::reannounce() {
    if (m_bus == nullptr) {
        return;
    }
    send_heartbeat();
    std::lock_guard lock(m_mutex);
    for (const auto& [room, members] : m_rooms) {
        for (const auto id : members) {
            m_bus->send({"HSET", m_redis->key("room:" + room),
                         m_daemon_id + "/" + std::to_string(id),
                         member_json(id, m_members[id].actor).dump()});
        }
    }
}

json Rooms::join(std::uint64_t session, const json& args) {
    const auto room = room_arg(args);
    std::vector<std::string> membership;  // the HSET that lists this member in Redis
    {
        std::lock_guard lock(m_mutex);
        auto& m = member(session);
        if (!m.rooms.contains(room)) {
            if (m.rooms.size() >= k_max_rooms) {
                throw Error(ErrorCode::invalid_argument, "a connection joins at most 100 rooms",
                            {{"param", "room"}});
            }
            const auto joined = ws_frame({{"event", "room.joined"},
                                          {"room", room},
                                          {"member", member_json(session, m.actor)}});
            deliver(room, joined, session);
            m_rooms[room].insert(session);
            m.rooms.insert(room);
            if (m_bus != nullptr) {
                membership = {"HSET", m_redis->key("room:" + room),
                              m_daemon_id + "/" + std::to_string(session),
                              member_json(session, m.actor).dump()};
                announce(room, joined);
            }
        }
        if (m_bus == nullptr) {
            return {{"room", room}, {"members", m_rooms[room].size()}, {"session", session}};
        }
    }
    if (!membership.empty()) {
        // Written before answering, outside the lock: once a join is
        // answered, every daemon's room info lists the member.
        try {
            const std::vector<std::string_view> command(membership.begin(), membership.end());
            m_redis->command(command);
        } catch (const Error& e) {
            log::get("daemon.ws")
                ->warn("room {}: membership not written to redis: {}", room, e.what());
        }
    }
    auto out = json{{"room", room}, {"session", session}, {"daemon", m_daemon_id}};
    out["members"] = info(args)["count"];
    return out;
}

void Rooms::leave_locked(std::uint64_t session, Member& m, const std::string& room) {
    m.rooms.erase(room);
    auto& members = m_rooms[room];
    members.erase(session);
    const auto left = ws_frame(
        {{"event", "room.left"}, {"room", room}, {"member", member_json(session, m.actor)}});
    deliver(room, left, session);
    if (members.empty()) {
        m_rooms.erase(room);
    }
    if (m_bus != nullptr) {
        m_bus->send(
            {"HDEL", m_redis->key("room:" + room), m_daemon_id + "/" + std::to_string(session)});
        announce(room, left);
    }
}

json Rooms::leave(std::uint64_t session, const json& args) {
    const auto room = room_arg(args);
    std::lock_guard lock(m_mutex);
    auto& m = member(session);
    if (!m.rooms.contains(room)) {
        throw Error(ErrorCode::not_found, "not a member of room \"" + room + "\"",
                    {{"room", room}});
    }
    leave_locked(session, m, room);
    return {{"room", room}, {"left", true}};
}

json Rooms::message(std::uint64_t session, const json& args) {
    const auto room = room_arg(args);
    const auto data = args.find("data");
    if (data == args.end()) {
        throw Error(ErrorCode::invalid_argument, "data: required, any JSON value",
                    {{"param", "data"}});
    }
    std::lock_guard lock(m_mutex);
    auto& m = member(session);
    if (!m.rooms.contains(room)) {
        throw Error(ErrorCode::permission_denied, "join room \"" + room + "\" before sending to it",
                    {{"room", room}});
    }
    const auto message = ws_frame({{"event", "room.message"},
                                   {"room", room},
                                   {"from", member_json(session, m.actor)},
                                   {"data", *data}});
    const auto delivered = static_cast<std::int64_t>(m_rooms[room].size()) - 1;
    deliver(room, message, session);
    json out{{"room", room}, {"delivered", delivered}};
    if (m_bus != nullptr) {
        announce(room, message);
        out["relayed"] = true;  // members on other daemons get it too
    }
    return out;
}

json Rooms::info(const json& args) {
    const auto room = room_arg(args);
    json members = json::array();
    {
        std::lock_guard lock(m_mutex);
        if (const auto it = m_rooms.find(room); it != m_rooms.end()) {
            for (const auto id : it->second) {
                members.push_back(member_json(id, m_members[id].actor));
            }
        }
    }
    json out{{"room", room}};
    if (m_bus != nullptr) {
        try {
            add_remote_members(room, members);
        } catch (const Error& e) {
            out["partial"] = true;  // this daemon's members only
            log::get("daemon.ws")
                ->warn("room {}: members on other daemons unknown: {}", room, e.what());
        }
    }
    out["count"] = members.size();
    out["members"] = std::move(members);
    return out;
}

void Rooms::add_remote_members(const std::string& room, json& members) {
    // Those of daemons whose liveness key has lapsed (stopped without
    // leaving) are dropped from the hash.
    const auto key = m_redis->key("room:" + room);
    const auto all = m_redis->command({"HGETALL", key});
    std::map<std::string, std::vector<std::pair<std::string, json>>> by_daemon;
    for (std::size_t i = 0; i + 1 < all.elements.size(); i += 2) {
        const auto& field = all.elements[i].str;
        const auto daemon = field.substr(0, field.rfind('/'));
        if (daemon != m_daemon_id) {
            by_daemon[daemon].emplace_back(
                field, parse_json_or_discarded(all.elements[i + 1].str, {k_max_stored_json_depth}));
        }
    }
    std::vector<std::vector<std::string>> checks;
    for (const auto& [daemon, entries] : by_daemon) {
        checks.push_back({"EXISTS", m_redis->key("daemon:" + daemon)});
    }
    const auto alive = m_redis->pipeline(checks);
    std::size_t i = 0;
    for (const auto& [daemon, entries] : by_daemon) {
        const bool up = alive[i++].integer == 1;
        for (const auto& [field, member] : entries) {
            if (up && member.is_object()) {
                members.push_back(member);
            } else if (!up) {
                m_bus->send({"HDEL", key, field});
            }
        }
    }
}

}  // namespace pb::daemon::ws
