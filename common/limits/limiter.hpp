#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/core/clock.hpp"
#include "common/limits/flat_map.hpp"
#include "common/limits/named_check.hpp"
#include "common/limits/policy.hpp"

namespace pb::limits {

// The answer of a limit check: a value, not an error, since "no" is normal.
struct LimitResult {
    bool allowed = true;
    std::int64_t limit = 0;           // the burst: the most requests at once
    std::int64_t remaining = 0;       // requests that would pass now
    std::int64_t reset_after_ms = 0;  // until the whole burst is available again
    std::int64_t retry_after_ms = 0;  // until this request would pass (0 when allowed)
    // The time the policy takes to earn its whole burst (burst × interval):
    // the window of RateLimit-Policy's quota. Not part of to_json().
    std::int64_t window_ms = 0;
    // This denial completed `threshold` violations within the window: the
    // caller should ban the identifier (reported once; the count restarts).
    bool ban_due = false;
    // Redis could not be asked and redis.on_failure* said open: allowed
    // without counting (limit 0, so no RateLimit-* headers).
    bool degraded = false;
    // A shadow policy would have refused: allowed anyway, reported
    // ("shadow_limited": true in to_json()) and counted (ShadowCounters).
    bool shadow_limited = false;
    // The name of the policy that decided (AppliedPolicy::name), empty when
    // no policy applied. Not part of to_json(): answers show it as policy.name.
    std::string policy;

    // {"allowed","limit","remaining","reset_after_ms","retry_after_ms"}
    nlohmann::json to_json() const;
};

// Throws Error(invalid_argument) unless 1 <= cost <= policy.burst.
void check_cost(const Policy& policy, std::int64_t cost);

// GCRA's answer at `now` (µs) for a bucket whose theoretical arrival time is
// `tat` (the stored one, or `now` if that is earlier): for a check that
// spends `cost`, or, with spend false, for a status (what a check of `cost`
// would answer, the bucket described as it stands). The check is allowed,
// and then the bucket's new time is tat + cost × interval, when that leaves
// it within the burst. Violations are the caller's: ban_due stays false.
// The one arithmetic of both limiters: in memory, and in Redis, whose
// script keeps the state and returns `tat`.
LimitResult gcra_answer(const Policy& policy, std::int64_t tat, std::int64_t now, std::int64_t cost,
                        bool spend);

// When denials count toward an automatic ban. threshold 0: never.
struct ViolationRule {
    std::int64_t threshold = 0;
    std::int64_t window_ms = 0;
};

// GCRA rate limiting in memory, for any number of identifiers. Thread-safe
// and sharded: identifiers hash to one of 64 shards, each with its own mutex
// and map, so threads on different identifiers rarely meet. Tracks at most
// `max_tracked` identifiers: when a shard is full, identifiers whose bucket
// has refilled (forgetting them changes no answer) are dropped first, then
// arbitrary ones (those then start afresh: memory is bounded, at the price of
// failing open for them).
class RateLimiter {
  public:
    RateLimiter(const Clock& clock, std::size_t max_tracked);

    // Spends `cost` (1..policy.burst) for `id` when it fits; otherwise denies
    // and counts a violation under `rule`. Throws Error(invalid_argument) when
    // cost is out of range.
    LimitResult check(std::string_view id, const Policy& policy, std::int64_t cost = 1,
                      const ViolationRule& rule = {});
    // Judges every bucket of `checks` at one instant, under their shards'
    // locks, and spends them all only when no bucket but a shadow one refuses
    // (see BucketCheck); an answer each, in order. No violations are counted.
    // Error(invalid_argument) for a cost outside 1..burst, before anything.
    std::vector<LimitResult> check_all(const std::vector<BucketCheck>& checks);
    // What check() with cost 1 would answer, without spending anything.
    LimitResult status(std::string_view id, const Policy& policy) const;
    // Forgets `id`: its whole burst is available again. True if it was tracked.
    bool reset(std::string_view id);
    // How many identifiers are tracked now.
    std::size_t tracked() const;

  private:
    struct Entry {
        std::int64_t tat_us = 0;               // GCRA theoretical arrival time
        std::int64_t violations_until_ms = 0;  // end of the current violation window
        std::int64_t violations = 0;
    };
    struct alignas(64) Shard {
        mutable std::mutex mutex;
        FlatMap<Entry> map;
        std::size_t forced_evictions_left = 0;  // before the next sweep of idle entries
        std::size_t next_victim = 0;
    };
    static constexpr std::size_t k_shards = 64;

    Shard& shard_of(std::uint64_t hash) const;
    void make_room(Shard& shard, std::int64_t now_us, std::int64_t now_ms) const;

    const Clock& m_clock;
    std::size_t m_shard_capacity;
    mutable std::array<Shard, k_shards> m_shards;
};

}  // namespace pb::limits
