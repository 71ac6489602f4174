#pragma once
// Beast-free: rooms, and their relay across daemons through Redis.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "daemon/ws/sink.hpp"

namespace pb::redis {
class Client;
class EventBus;
}  // namespace pb::redis

namespace pb::daemon::ws {

// Sessions that join a name and relay messages to its other members. Members
// are in pbd's memory; with Redis (relay()), rooms span daemons. Thread-safe.
class Rooms {
  public:
    Rooms() = default;
    Rooms(const Rooms&) = delete;
    Rooms& operator=(const Rooms&) = delete;

    // Rooms across daemons (call before any session joins): joins, leaves and
    // messages are announced on <prefix>rooms and delivered to each daemon's
    // members; who is in a room is kept in the hash <prefix>room:<name>, each
    // member under its daemon, whose liveness key (<prefix>daemon:<id>,
    // refreshed every 10 s by heartbeat(), lasting 30 s) tells info() which
    // entries still stand. Both must outlive this object.
    void relay(redis::EventBus& bus, redis::Client& client);
    // Refreshes this daemon's liveness key when due (call often, from one thread).
    void heartbeat();
    // Announces this daemon and its members again (Redis may have lost them:
    // it keeps no data across a restart here).
    void reannounce();
    // pbd is stopping: other daemons stop listing this one's members at once.
    void withdraw_daemon();

    // A session that may join rooms (authenticated as `actor`, shown to the
    // other members); a second call changes its actor and keeps its rooms.
    void add(std::uint64_t session, std::weak_ptr<WsSink> sink, const std::string& actor);
    // The session leaves every room it is in (members told) and is forgotten.
    void remove(std::uint64_t session);

    // The ops (args.room: 1 to 200 bytes, no control characters). Each throws
    // Error(invalid_argument) for bad arguments and Error(unavailable) once
    // the session has closed. join: at most 100 rooms per session; answers
    // {room, members, session[, daemon]}. leave: Error(not_found) unless a
    // member; answers {room, left}. message (args.data, any JSON):
    // Error(permission_denied) unless a member; answers {room, delivered[,
    // relayed]}. info: {room, count, members[, partial]} (may call Redis).
    nlohmann::json join(std::uint64_t session, const nlohmann::json& args);
    nlohmann::json leave(std::uint64_t session, const nlohmann::json& args);
    nlohmann::json message(std::uint64_t session, const nlohmann::json& args);
    nlohmann::json info(const nlohmann::json& args);

    // For /metrics: rooms with at least one member here.
    std::size_t count() const;

  private:
    struct Member {
        std::weak_ptr<WsSink> sink;
        std::string actor;
        std::set<std::string> rooms;
    };

    // Hold m_mutex for these.
    Member& member(std::uint64_t session);
    nlohmann::json member_json(std::uint64_t session, const std::string& actor) const;
    void leave_locked(std::uint64_t session, Member& m, const std::string& room);
    void deliver(const std::string& room, const WsFrame& frame, std::uint64_t except);
    void announce(const std::string& room, const WsFrame& frame);
    // The members of this room on other daemons that still stand (Redis).
    void add_remote_members(const std::string& room, nlohmann::json& members);
    // Not under m_mutex.
    void on_relayed(std::string_view payload);
    void send_heartbeat();

    mutable std::mutex m_mutex;  // members and rooms
    std::unordered_map<std::uint64_t, Member> m_members;
    std::map<std::string, std::set<std::uint64_t>> m_rooms;
    redis::EventBus* m_bus = nullptr;  // rooms relayed when set
    redis::Client* m_redis = nullptr;
    std::string m_daemon_id;  // "host:pid:random", unique among daemons
    std::chrono::steady_clock::time_point m_next_heartbeat{};  // heartbeat()'s thread only
};

}  // namespace pb::daemon::ws
