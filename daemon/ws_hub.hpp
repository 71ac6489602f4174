#pragma once
// Beast-free: the WebSocket sessions (ws_session.cpp) and the lifecycle share it.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/events/tailer.hpp"
#include "common/ops/op.hpp"
#include "common/runtime/services.hpp"

namespace pb::redis {
class Client;
class EventBus;
}  // namespace pb::redis

namespace pb::daemon {

// pbd's WebSocket settings (ws.*, events.retention).
struct WsOptions {
    std::chrono::milliseconds auth_timeout{10'000};
    std::uint64_t max_message = 1 << 20;
    std::uint64_t max_queue = 4 << 20;
    std::chrono::milliseconds idle_timeout{60'000};
    std::chrono::milliseconds retention{7LL * 86'400'000};
    // How often the outbox is checked for commits by any process (a change
    // token read: nanoseconds, no syscall, when nothing was committed).
    std::chrono::milliseconds poll_interval{10};
    // Threads that run ops, authentication and replays (they may wait on the database).
    int op_threads = 2;
};

// What the hub pushes frames to: one WebSocket session (ws_session.cpp).
class WsSink {
  public:
    virtual ~WsSink() = default;
    // Queues a text frame to send. Thread-safe and never blocks; a sink whose
    // queue would pass ws.max_queue drops its client instead.
    virtual void push(std::shared_ptr<const std::string> frame) = 0;
    // Bytes queued and not yet written.
    virtual std::uint64_t queued_bytes() const = 0;
    // Drops the client (close 1013, or a hard close when it does not read).
    virtual void drop_slow() = 0;
    // Closes with 1001 (going away): pbd is stopping.
    virtual void going_away() = 0;
    // The session's credential may have been withdrawn (an event on its key,
    // on token revocations or on bans): re-check it, spending nothing, and
    // close (1008) when it no longer admits. Thread-safe and never blocks.
    virtual void recheck() = 0;
};

// The daemon side of events and rooms: one thread tails the outbox (every
// commit, by pbd or by `pbctl` on the same database) and fans each event out
// to the sessions subscribed to its topic; rooms relay messages between
// sessions; a small pool runs what may wait on the database. Thread-safe.
//
// Subscriptions with `since` replay from the outbox up to the position the
// tail had reached when the subscription was registered, while the tail holds
// newer matching events back for that session; then the held events follow
// and the subscription goes live. Nothing is lost or sent twice.
class WsHub {
  public:
    WsHub(Services& services, WsOptions options);
    ~WsHub();
    WsHub(const WsHub&) = delete;
    WsHub& operator=(const WsHub&) = delete;

    // Rooms across daemons (call before start()): joins, leaves and messages
    // are announced on <prefix>rooms and delivered to each daemon's members;
    // who is in a room is kept in the hash <prefix>room:<name>, each member
    // under its daemon, whose liveness key (<prefix>daemon:<id>, refreshed
    // every 10 s, lasting 30 s) tells room.info which entries still stand.
    void relay_rooms(redis::EventBus& bus, redis::Client& client);
    // Announces this daemon and its room members again (Redis may have lost
    // them: it keeps no data across a restart here).
    void reannounce_rooms();

    // Starts the tail thread and the pool.
    void start();
    // Closes every session (1001), stops the tail and drains the pool. Call
    // before the HTTP server stops.
    void stop();

    const WsOptions& options() const { return m_options; }
    Services& services() { return m_services; }

    // Runs `job` on the pool (in submission order per pool thread; callers
    // that need order run one job at a time). Dropped once stopped.
    void run_blocking(std::function<void()> job);

    // Reads the outbox now rather than at the next poll: pbd itself just
    // committed (a mutating op over the WebSocket).
    void poke();
    // An event announced by its committer (Redis pub/sub, from any daemon or
    // pbctl): fanned out without reading the outbox when it is the next seq,
    // else held until the seqs before it arrive (announced or read). The
    // outbox stays the authority: duplicates are dropped by seq.
    void offer(const events::Event& event);

    // A session joins or leaves. attach() returns its id.
    std::uint64_t attach(std::weak_ptr<WsSink> sink);
    void detach(std::uint64_t session);
    // The session authenticated as `caller`: its actor (for rooms), and what
    // its credential hangs on, so that an event withdrawing it (keys/<id>,
    // tokens/*, bans) makes the session re-check it at once (WsSink::recheck).
    void set_caller(std::uint64_t session, const ops::Caller& caller);

    // The ops of the WebSocket protocol that are not in the op table. Each
    // throws pb::Error for bad arguments; subscribe() may wait on the database.
    nlohmann::json subscribe(std::uint64_t session, const nlohmann::json& args);
    nlohmann::json unsubscribe(std::uint64_t session, const nlohmann::json& args);
    nlohmann::json join_room(std::uint64_t session, const nlohmann::json& args);
    nlohmann::json leave_room(std::uint64_t session, const nlohmann::json& args);
    nlohmann::json room_message(std::uint64_t session, const nlohmann::json& args);
    nlohmann::json room_info(std::uint64_t session, const nlohmann::json& args);

    // Counters for /metrics.
    std::atomic<std::uint64_t> messages_in{0};
    std::atomic<std::uint64_t> messages_out{0};
    std::atomic<std::uint64_t> dropped_slow{0};
    std::atomic<std::uint64_t> closed_by_protocol{0};
    std::atomic<std::int64_t> open_sessions{0};
    // Appends pb_ws_* and pb_events_* metrics in the Prometheus text format.
    void render_metrics(std::string& out) const;

  private:
    struct Session {
        std::weak_ptr<WsSink> sink;
        std::string actor;
        std::string key_id;  // the API key it authenticated with
        bool authenticated = false;
        bool jwt = false;                  // authenticated with a token
        std::vector<std::string> live;     // patterns delivered as events arrive
        std::vector<std::string> pending;  // patterns being replayed
        std::vector<std::shared_ptr<const std::string>> held;  // live events while replaying
        std::uint64_t held_bytes = 0;
        std::set<std::string> rooms;
    };

    void tail_loop();
    // Room membership and relay (ws_hub_rooms.cpp). Hold m_mutex.
    nlohmann::json member_json(std::uint64_t session, const std::string& actor) const;
    void leave_locked(std::uint64_t session, Session& s, const std::string& room);
    void deliver_to_room(const std::string& room, const std::shared_ptr<const std::string>& frame,
                         std::uint64_t except);
    // Not under m_mutex: Redis calls.
    void announce(const std::string& room, const std::shared_ptr<const std::string>& frame);
    void on_relayed(std::string_view payload);
    // Refreshes this daemon's liveness key every k_heartbeat (tail thread).
    void heartbeat();
    void send_heartbeat();
    // Moves the announced events that continue `tailer`'s position into
    // `batch`, advancing it; drops those already passed.
    void take_announced(events::Tailer& tailer, std::vector<events::Event>& batch);
    void fan_out(const std::vector<events::Event>& batch);
    // Hands the events that can withdraw a session's credential to the
    // caches first (Follower::offer: the re-check must not read a stale
    // index), then asks the sessions concerned to re-check.
    void recheck_credentials(const std::vector<events::Event>& batch);
    void prune();
    std::shared_ptr<WsSink> sink_of(std::uint64_t session);
    // The session's entry; Error(unavailable) once it has closed. Hold m_mutex.
    Session& session_of(std::uint64_t session);
    void pool_loop();

    Services& m_services;
    const WsOptions m_options;

    mutable std::mutex m_mutex;  // sessions, rooms, position
    std::unordered_map<std::uint64_t, Session> m_sessions;
    std::map<std::string, std::set<std::uint64_t>> m_rooms;
    redis::EventBus* m_bus = nullptr;  // rooms relayed when set
    redis::Client* m_redis = nullptr;
    std::string m_daemon_id;  // "host:pid:random", unique among daemons
    std::chrono::steady_clock::time_point m_next_heartbeat{};  // tail thread only
    std::uint64_t m_next_id = 1;
    std::int64_t m_position = 0;  // the last seq fanned out
    std::atomic<std::int64_t> m_last_seq{0};
    std::atomic<std::uint64_t> m_events_delivered{0};
    std::atomic<std::uint64_t> m_events_pruned{0};

    std::mutex m_pool_mutex;
    std::condition_variable m_pool_cv;
    std::deque<std::function<void()>> m_jobs;
    std::vector<std::thread> m_pool;
    bool m_stopping = false;  // guarded by m_pool_mutex

    std::mutex m_tail_mutex;
    std::condition_variable m_tail_cv;
    bool m_tail_stop = false;
    bool m_poked = false;                           // guarded by m_tail_mutex
    std::vector<events::Event> m_offered;           // guarded by m_tail_mutex
    std::map<std::int64_t, events::Event> m_early;  // announced, not yet next; tail thread only
    std::atomic<std::uint64_t> m_events_announced{0};
    std::thread m_tail;
    bool m_started = false;
};

}  // namespace pb::daemon
