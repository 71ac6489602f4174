#pragma once

#include <cstdint>
#include <string_view>

#include "common/core/clock.hpp"
#include "common/limits/limiter.hpp"
#include "common/limits/policy.hpp"
#include "common/store/store.hpp"

namespace pb::limits {

// GCRA with its state in the database (table limit_counters, migration 12):
// one row per (scope, identifier) holding the theoretical arrival time and
// the violation count, read (locked) and written in one transaction, so
// that pbctl runs on the same database (scripts, cron jobs) spend from one
// bucket and agree run after run, on SQLite and PostgreSQL alike. The same
// arithmetic as RateLimiter (gcra_answer); time from `clock`. No outbox
// event: a counter is not news. Thread-safe (the store is).
class StoreLimiter {
  public:
    StoreLimiter(store::Store& store, const Clock& clock);

    // As RateLimiter::check. `scope` and `id` name the row ("ip" and the
    // canonical address text, "user" and a name, …). Error(invalid_argument)
    // for a cost out of range; Error(unavailable) when the store cannot answer.
    LimitResult check(std::string_view scope, std::string_view id, const Policy& policy,
                      std::int64_t cost, const ViolationRule& rule);
    // What check() with cost 1 would answer, spending nothing.
    LimitResult status(std::string_view scope, std::string_view id, const Policy& policy) const;
    // Forgets the row: its whole burst is available again. True if there
    // was one (as RateLimiter::reset: it was tracked).
    bool reset(std::string_view scope, std::string_view id);
    // Deletes rows that have refilled and hold no violation window (forgetting
    // them changes no answer); returns how many.
    std::int64_t purge_idle();

  private:
    store::Store& m_store;
    const Clock& m_clock;
};

}  // namespace pb::limits
