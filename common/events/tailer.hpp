#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>

#include "common/core/clock.hpp"
#include "common/events/outbox.hpp"
#include "common/store/store.hpp"

namespace pb::events {

// Reads the outbox forward from a position, for pbd's fan-out to WebSocket
// subscribers and for `pbctl events tail`, always in seq order. The one place
// that decides which events come next: on SQLite seq order is commit order, so
// "every seq above the last one seen" is exact; on PostgreSQL a smaller seq can
// commit after a larger one, so the reader holds back behind a missing seq
// until it commits, or for k_gap_wait (then it was rolled back). Not
// thread-safe: one reader.
class Tailer {
  public:
    // Starts after `after` (0: from the oldest event kept).
    Tailer(store::Store& store, std::int64_t after);

    // Delivers every event committed since the last call (or since `after`),
    // oldest first, and returns how many. Costs a few nanoseconds when nothing
    // was committed anywhere (the store's change token).
    std::size_t poll(const std::function<void(const Event&)>& fn);

    // The seq of the last event delivered (or `after`).
    std::int64_t position() const { return m_after; }
    // Counts the event after position() as delivered by other means (its
    // committer announced it): the next poll reads after it. `seq` must be
    // position() + 1, so order and completeness stay this class's.
    void advance(std::int64_t seq);

    // How long a missing seq is waited for (PostgreSQL) before it is taken
    // for a rolled-back transaction's: as the caches' Follower waits.
    static constexpr std::chrono::milliseconds k_gap_wait = k_commit_gap_wait;

  private:
    store::Store& m_store;
    std::int64_t m_after;
    std::uint64_t m_token = 0;
    bool m_first = true;
    // When the event above a missing seq was first seen.
    std::optional<std::chrono::steady_clock::time_point> m_gap_seen;
};

// An event as subscribers see it, over the WebSocket and from `pbctl events
// tail`: {"event":type,"topic","seq","data","created_at"} (created_at in RFC
// 3339 with milliseconds).
nlohmann::json to_json(const Event& e);
// The event to_json() describes; nullopt when `j` is not that shape.
std::optional<Event> event_from_json(const nlohmann::json& j);

// Checks that a reader resuming after `since` has lost nothing to retention.
// Throws Error(not_found, details.reason "pruned") when events after `since`
// were already pruned (details: since, oldest_seq), and Error(invalid_argument)
// when `since` is past the newest event (another database, or a typo). 0 is
// always accepted: "from the oldest event kept".
void check_resume(store::Connection& c, std::int64_t since);

}  // namespace pb::events
