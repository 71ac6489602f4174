#pragma once
// Beast-free: the WebSocket side's parts, composed; the sessions
// (daemon/ws/session.hpp) and the lifecycle share it.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "common/events/outbox.hpp"
#include "common/runtime/services.hpp"
#include "daemon/ws/audit_pruner.hpp"
#include "daemon/ws/credential_watch.hpp"
#include "daemon/ws/fanout.hpp"
#include "daemon/ws/op_pool.hpp"
#include "daemon/ws/outbox_pruner.hpp"
#include "daemon/ws/outbox_tail.hpp"
#include "daemon/ws/rooms.hpp"
#include "daemon/ws/sink.hpp"

namespace pb::redis {
class Client;
class EventBus;
}  // namespace pb::redis

namespace pb::daemon {

// pbd's WebSocket settings (ws.*, events.retention; audit.retention, pruned
// on the same thread).
struct WsOptions {
    std::chrono::milliseconds auth_timeout{10'000};
    std::uint64_t max_message = 1 << 20;
    std::uint64_t max_queue = 4 << 20;
    std::chrono::milliseconds idle_timeout{60'000};
    std::chrono::milliseconds retention{7LL * 86'400'000};
    std::chrono::milliseconds audit_retention{0};  // 0: keep every audit row
    // How often the outbox is checked for commits by any process (a change
    // token read: nanoseconds, no syscall, when nothing was committed).
    std::chrono::milliseconds poll_interval{10};
    // Threads that run ops, authentication and replays (they may wait on the database).
    int op_threads = 2;
};

// The daemon side of events and rooms, composed of parts with one job each:
// the outbox tail (ws::OutboxTail) feeds each batch of events to the fan-out
// (ws::Fanout: subscriptions, replay then live) and to the credential watch
// (ws::CredentialWatch: re-checks of the sessions an event concerns); rooms
// (ws::Rooms, relayed through Redis when set up); the pool that runs what may
// wait on the database (ws::OpPool); outbox pruning (ws::OutboxPruner). The
// hub numbers the sessions, registers them with the parts and renders the
// metrics; sessions are admitted by Services::admission(), as HTTP requests
// are. Thread-safe.
class WsHub {
  public:
    WsHub(Services& services, WsOptions options);
    // Stops (see stop()).
    ~WsHub();
    WsHub(const WsHub&) = delete;
    WsHub& operator=(const WsHub&) = delete;

    // Rooms across daemons (call before start()): see ws::Rooms::relay.
    void relay_rooms(redis::EventBus& bus, redis::Client& client);
    // Announces this daemon and its room members again (after Redis came back).
    void reannounce_rooms() { m_rooms.reannounce(); }

    // Starts the tail thread and the pool, after the outbox's last event.
    void start();
    // Closes every session (1001), stops the tail and drains the pool. Call
    // before the HTTP server stops.
    void stop();

    const WsOptions& options() const { return m_options; }
    Services& services() { return m_services; }
    ws::Fanout& fanout() { return m_fanout; }
    ws::Rooms& rooms() { return m_rooms; }
    ws::OpPool& pool() { return m_pool; }

    // Runs `job` on the pool (see ws::OpPool::post).
    void run_blocking(std::function<void()> job) { m_pool.post(std::move(job)); }
    // Reads the outbox now rather than at the next poll: pbd itself just
    // committed (a mutating op over the WebSocket).
    void poke() { m_tail.poke(); }
    // A reload's events.retention, from the next prune on.
    void set_retention(std::chrono::milliseconds retention) { m_pruner.set_retention(retention); }
    // An event announced by its committer (Redis pub/sub, from any daemon or
    // pbctl): see ws::OutboxTail::offer.
    void offer(const events::Event& event) { m_tail.offer(event); }

    // A session joins or leaves. attach() returns its id; detach() takes it
    // out of its subscriptions and rooms.
    std::uint64_t attach(std::weak_ptr<WsSink> sink);
    void detach(std::uint64_t session);
    // The session (still attached) authenticated as `caller`: it may now
    // subscribe and join rooms as its actor, and an event that may withdraw
    // its credential (keys/<id>, tokens/*, bans) makes it re-check at once.
    void set_caller(std::uint64_t session, const ops::Caller& caller);

    // Counters for /metrics, counted by the sessions.
    std::atomic<std::uint64_t> messages_in{0};
    std::atomic<std::uint64_t> messages_out{0};
    std::atomic<std::uint64_t> dropped_slow{0};
    std::atomic<std::uint64_t> closed_by_protocol{0};
    std::atomic<std::int64_t> open_sessions{0};
    // Appends pb_ws_* and pb_events_* metrics in the Prometheus text format.
    void render_metrics(std::string& out) const;

  private:
    // On the tail thread.
    void on_batch(const std::vector<events::Event>& batch);
    void on_tick();

    Services& m_services;
    const WsOptions m_options;
    ws::OpPool m_pool;
    ws::Fanout m_fanout;
    ws::Rooms m_rooms;
    ws::CredentialWatch m_watch;
    ws::OutboxPruner m_pruner;
    ws::AuditPruner m_audit_pruner;
    ws::OutboxTail m_tail;  // last: stopped first, its callbacks reach the parts above

    std::mutex m_mutex;  // the sessions attached
    std::unordered_map<std::uint64_t, std::weak_ptr<WsSink>> m_sessions;
    std::uint64_t m_next_id = 1;
    bool m_started = false;
};

}  // namespace pb::daemon
