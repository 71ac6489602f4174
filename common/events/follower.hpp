#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
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

    // Starts after the newest event: history is the store's, not the cache's.
    explicit Follower(store::Store& store);

    // Registers a listener; call before catch_up() runs on other threads.
    void on(std::string topic_prefix, Listener listener);

    void catch_up();

    // The seq of the last event delivered.
    std::int64_t last_seq() const;

  private:
    store::Store& m_store;
    std::vector<std::pair<std::string, Listener>> m_listeners;
    mutable std::mutex m_mutex;
    std::int64_t m_last_seq = 0;  // guarded by m_mutex
    std::atomic<std::uint64_t> m_applied_token{0};
};

}  // namespace pb::events
