#pragma once
// Beast-free: events.retention applied to the outbox.

#include <atomic>
#include <chrono>
#include <cstdint>

#include "common/core/clock.hpp"
#include "common/store/store.hpp"

namespace pb::daemon::ws {

// Deletes outbox events older than events.retention, once a minute, in
// batches (events::prune keeps the newest event whatever its age). Called
// from one thread (the outbox tail's).
class OutboxPruner {
  public:
    OutboxPruner(store::Store& store, const Clock& clock, std::chrono::milliseconds retention);

    // Prunes when a minute has passed since the last time (at once the first
    // time). A failure is logged and retried a minute later.
    void tick();
    // Prunes now, every batch; throws what the store throws.
    void prune();

    // Applies a new events.retention from the next prune on (a reload); any thread.
    void set_retention(std::chrono::milliseconds retention) {
        m_retention_ms.store(retention.count(), std::memory_order_relaxed);
    }

    // For /metrics: events deleted.
    std::uint64_t pruned() const { return m_pruned.load(); }

  private:
    store::Store& m_store;
    const Clock& m_clock;
    std::atomic<std::int64_t> m_retention_ms;
    std::chrono::steady_clock::time_point m_next{};
    std::atomic<std::uint64_t> m_pruned{0};
};

}  // namespace pb::daemon::ws
