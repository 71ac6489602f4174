#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <type_traits>

#include "common/events/follower.hpp"

namespace pb::events {

// The refresh of an in-memory index that follows the outbox and is read on
// every request (the ban index, the limit overrides): the follower's
// listener counts changes (changed()); a reader calls refresh() first, which
// loads the index the first time and brings it up to date when changes were
// counted since the last update that succeeded. While the store fails, the
// index is kept as it is and the update retried after k_retry_delay, so
// requests are answered from the last index instead of each waiting on a
// store that is down (logged once, and once when it recovers). Thread-safe.
class FollowedIndex {
  public:
    static constexpr std::chrono::seconds k_retry_delay{1};

    // `what` names the index in log lines ("ban index").
    FollowedIndex(Follower& follower, std::string what);

    // A change the index has yet to take (called by the follower's listener,
    // after it noted what changed).
    void changed() { m_changes.fetch_add(1, std::memory_order_release); }

    // A callable borrowed for one call: no allocation on the read path.
    class Step {
      public:
        template <class F>
        Step(F&& f)  // NOLINT(google-explicit-constructor): a lambda is passed as is
            : m_object(const_cast<void*>(static_cast<const void*>(&f))),
              m_call([](void* o) { (*static_cast<std::remove_reference_t<F>*>(o))(); }) {}
        void operator()() const { m_call(m_object); }

      private:
        void* m_object;
        void (*m_call)(void*);
    };

    // `load` builds the index whole (its error propagates: the next call
    // tries again); `update` takes the changes counted since (an error is
    // logged once and retried later; what it took must stay to take again).
    // Both run under mutex(), which may guard what they build.
    void refresh(Step load, Step update);

    std::mutex& mutex() { return m_mutex; }

  private:
    Follower& m_follower;
    const std::string m_what;
    std::atomic<std::uint64_t> m_changes{0};
    std::atomic<std::uint64_t> m_applied{0};
    std::atomic<bool> m_loaded{false};
    std::atomic<std::int64_t> m_retry_at{0};  // steady-clock ticks: no update before
    std::mutex m_mutex;
    bool m_failing = false;  // guarded by m_mutex
};

}  // namespace pb::events
