#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "common/core/clock.hpp"
#include "common/limits/limiter.hpp"
#include "common/limits/named_check.hpp"
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
    // RateLimiter::check_all's answers (all or none, see BucketCheck): a
    // key's and its identity's named limits, each bucket a row of scope
    // "named", every row locked (in the buckets' order, so that two checks
    // never wait on each other), judged at one time, and the ones that fit
    // written only when every enforced one fits, in one transaction. No
    // violations are counted. Error(invalid_argument) for a cost outside
    // 1..burst, before anything; Error(unavailable) when the store cannot answer.
    std::vector<LimitResult> check_all(const std::vector<BucketCheck>& checks);
    // What check() with cost 1 would answer, spending nothing.
    LimitResult status(std::string_view scope, std::string_view id, const Policy& policy) const;
    // Forgets the row: its whole burst is available again. True if there
    // was one (as RateLimiter::reset: it was tracked).
    bool reset(std::string_view scope, std::string_view id);
    // Deletes rows that have refilled and hold no violation window (forgetting
    // them changes no answer); returns how many.
    std::int64_t purge_idle();

  private:
    // A bucket's row: GCRA's theoretical arrival time and the violations.
    struct Row {
        std::int64_t tat_us = 0;
        std::int64_t violations = 0;
        std::int64_t violations_until_ms = 0;
        bool found = false;
    };
    static Row read_row(store::Connection& c, std::string_view scope, std::string_view id,
                        bool lock);
    static void write_row(store::Connection& c, std::string_view scope, std::string_view id,
                          const Row& row);

    store::Store& m_store;
    const Clock& m_clock;
};

}  // namespace pb::limits
