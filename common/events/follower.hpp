#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/events/outbox.hpp"
#include "common/store/store.hpp"

namespace pb::events {

// Follows the outbox on behalf of in-memory caches: catch_up() delivers every
// event committed since the last call, by this process or any other, to the
// listeners whose topic prefix matches. It costs a few nanoseconds when nothing
// was committed (the store's change token), so callers run it before every
// cached read. Thread-safe: when catch_up() returns, every event committed
// before it was called has been delivered, even if another thread did the work.
class Follower {
  public:
    using Listener = std::function<void(const Event&)>;

    // Starts after the newest event (history is the store's, not the cache's),
    // watching the last k_start_window seqs for ones still to commit.
    explicit Follower(store::Store& store);

    // Registers a listener; call before catch_up() runs on other threads.
    void on(std::string topic_prefix, Listener listener);

    void catch_up();
    // Reads the outbox even when the change token says nothing changed: after
    // an announcement channel (Redis) was lost, whatever it missed is there.
    void resync();
    // Delivers an event announced by its committer (Redis pub/sub) without
    // reading the outbox; an event already delivered, or delivered later by
    // catch_up(), reaches the listeners once. The event must be committed.
    void offer(const Event& event);

    // Every event up to this seq has been delivered.
    std::int64_t last_seq() const;

    // How long a missing seq below delivered ones is waited for before it is
    // taken for a rolled-back transaction's.
    static constexpr std::chrono::milliseconds k_gap_wait = k_commit_gap_wait;
    // How far below the newest seq a new follower still watches for late commits.
    static constexpr std::int64_t k_start_window = 1000;

  private:
    void read_outbox(std::uint64_t token);
    void deliver(const Event& e);
    // Moves m_last_seq over delivered seqs, and over a missing one once the
    // event above it has been seen for k_gap_wait (its transaction rolled back).
    void advance_watermark();

    store::Store& m_store;
    std::vector<std::pair<std::string, Listener>> m_listeners;
    mutable std::mutex m_mutex;
    // Guarded by m_mutex. On PostgreSQL seqs are taken at INSERT but become
    // visible at COMMIT, so seq 11 can be read before seq 10 commits: every seq
    // up to m_last_seq was delivered (or given up), the ones above it that
    // were are in m_delivered with when they were seen, and the outbox is
    // re-read from m_last_seq.
    std::int64_t m_last_seq = 0;
    std::map<std::int64_t, std::chrono::steady_clock::time_point> m_delivered;
    std::atomic<std::uint64_t> m_applied_token{0};
};

}  // namespace pb::events
