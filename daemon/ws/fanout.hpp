#pragma once
// Beast-free: outbox events to the sessions subscribed to their topics.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/events/outbox.hpp"
#include "common/store/store.hpp"
#include "daemon/ws/sink.hpp"

namespace pb::daemon::ws {

// Which session wants which topics, and every event delivered to them once,
// in seq order. Events come from one publisher (the outbox tail) in seq order;
// subscribe() runs on other threads at the same time. Thread-safe.
//
// A subscription with `since` replays from the outbox up to the position
// published when it was registered, while publish() holds newer matching
// events back for that session; then the held events follow and the patterns
// go live. Nothing is lost or sent twice: each live pattern knows the seq
// after which the session has had every event it matches, so a replay leaves
// out what any of them sent, and `since` on a pattern already followed
// replays the events from before it was followed.
class Fanout {
  public:
    // `max_queue` (ws.max_queue): a session whose held-back events pass it is
    // dropped (WsSink::drop_slow); a replay waits while its sink has more than
    // half of it queued, and drops a client that stops reading.
    Fanout(store::Store& store, std::uint64_t max_queue);

    // Events continue after `position` (the outbox's last seq when pbd starts:
    // history is replayed on request). Call before publish().
    void start_at(std::int64_t position);

    // A session that may subscribe; a second add() keeps its subscriptions.
    void add(std::uint64_t session, std::weak_ptr<WsSink> sink);
    // Forgets the session and its subscriptions.
    void remove(std::uint64_t session);

    // Delivers `batch` (the events after position(), in seq order) to the
    // sessions subscribed live, holds them for sessions replaying, and
    // advances position(). One publisher at a time.
    void publish(const std::vector<events::Event>& batch);

    // The subscribe op: args.topics (a pattern or a list), optional args.since
    // (a seq: replay what follows it first, also for patterns followed
    // already: what they did not send). Answers {topics, position,
    // replayed}. Error(invalid_argument) for bad arguments, Error(not_found,
    // reason "pruned") when events after `since` are gone, Error(unavailable)
    // when the session has closed or stopped reading during the replay. May
    // wait on the database: run it on the pool.
    nlohmann::json subscribe(std::uint64_t session, const nlohmann::json& args);
    // The unsubscribe op: drops the patterns in args.topics; answers {topics}.
    nlohmann::json unsubscribe(std::uint64_t session, const nlohmann::json& args);

    // The last seq published.
    std::int64_t position() const;
    // For /metrics: sessions with a live pattern, events pushed to them.
    std::size_t subscribed_sessions() const;
    std::uint64_t delivered() const { return m_delivered.load(); }

  private:
    // A pattern followed live: the session has had every event after `from`
    // that it matches (sent live, replayed, or sent for another pattern).
    struct Followed {
        std::string pattern;
        std::int64_t from = 0;
    };
    // An event held back during a replay.
    struct Held {
        WsFrame frame;
        std::string topic;
    };
    struct Subscriber {
        std::weak_ptr<WsSink> sink;
        std::vector<Followed> live;        // patterns delivered as events arrive
        std::vector<std::string> pending;  // patterns being replayed: their events held
        std::vector<Held> held;            // events of pending patterns while replaying
        std::uint64_t held_bytes = 0;
    };
    // What subscribe() registered: the patterns to replay and where to stop.
    struct Replay {
        std::shared_ptr<WsSink> sink;
        std::vector<std::string> patterns;  // to replay: new ones and followed ones named again
        std::vector<Followed> sent;         // what the live patterns had sent: not replayed
        std::int64_t since = 0;
        std::int64_t until = 0;
    };

    void deliver(Subscriber& s, const events::Event& e, WsFrame& text);
    // Pushes the events of (since, until] that match the patterns and were
    // not sent already; returns how many. Throws as subscribe() does.
    std::int64_t replay(const Replay& r);
    // Waits until the sink has room for a replayed event; drops it and throws
    // Error(unavailable) when it stops reading.
    void wait_for_room(WsSink& sink) const;
    // The replay ended: held events follow, the patterns go live.
    nlohmann::json go_live(std::uint64_t session, const Replay& r, std::int64_t replayed);
    // The replay failed: patterns followed before stay live and get the
    // events held for them; new ones are forgotten.
    void abandon(std::uint64_t session);
    // The patterns of s.live, as the answer lists them.
    static nlohmann::json topics_of(const Subscriber& s);
    // The session's entry; Error(unavailable) once it has closed. Hold m_mutex.
    Subscriber& subscriber(std::uint64_t session);

    store::Store& m_store;
    const std::uint64_t m_max_queue;
    mutable std::mutex m_mutex;  // subscribers and the position
    std::unordered_map<std::uint64_t, Subscriber> m_subscribers;
    std::int64_t m_position = 0;
    std::atomic<std::uint64_t> m_delivered{0};
};

}  // namespace pb::daemon::ws
