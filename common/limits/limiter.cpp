#include "common/limits/limiter.hpp"

#include <algorithm>

#include "common/core/error.hpp"

namespace pb::limits {
namespace {

std::int64_t ceil_ms(std::int64_t us) {
    return us <= 0 ? 0 : (us + 999) / 1000;
}

// The answer for a bucket whose theoretical arrival time is `tat` at `now`.
LimitResult describe(const Policy& p, std::int64_t tat, std::int64_t now) {
    const std::int64_t t = p.interval_us();
    LimitResult r;
    r.limit = p.burst;
    r.window_ms = ceil_ms(p.burst * t);
    r.remaining = std::clamp<std::int64_t>((now + p.burst * t - tat) / t, 0, p.burst);
    r.reset_after_ms = ceil_ms(tat - now);
    return r;
}

}  // namespace

nlohmann::json LimitResult::to_json() const {
    nlohmann::json j{{"allowed", allowed},
                     {"limit", limit},
                     {"remaining", remaining},
                     {"reset_after_ms", reset_after_ms},
                     {"retry_after_ms", retry_after_ms}};
    if (degraded) {
        j["degraded"] = true;
    }
    if (shadow_limited) {
        j["shadow_limited"] = true;
    }
    return j;
}

LimitResult gcra_answer(const Policy& policy, std::int64_t tat, std::int64_t now, std::int64_t cost,
                        bool spend) {
    const std::int64_t t = policy.interval_us();
    const std::int64_t new_tat = tat + cost * t;
    const std::int64_t allow_at = new_tat - policy.burst * t;
    if (allow_at <= now) {
        return describe(policy, spend ? new_tat : tat, now);
    }
    LimitResult r = describe(policy, tat, now);
    r.allowed = false;
    r.retry_after_ms = std::max<std::int64_t>(1, ceil_ms(allow_at - now));
    return r;
}

void check_cost(const Policy& policy, std::int64_t cost) {
    if (cost < 1 || cost > policy.burst) {
        throw Error(ErrorCode::invalid_argument,
                    "cost: must be from 1 to the burst (" + std::to_string(policy.burst) + ")",
                    {{"param", "cost"}});
    }
}

RateLimiter::RateLimiter(const Clock& clock, std::size_t max_tracked)
    : m_clock(clock), m_shard_capacity(std::max<std::size_t>(1, max_tracked / k_shards)) {}

RateLimiter::Shard& RateLimiter::shard_of(std::uint64_t hash) const {
    // The top bits: the map itself places by the low ones.
    return m_shards[(hash >> 58) % k_shards];
}

void RateLimiter::make_room(Shard& shard, std::int64_t now_us, std::int64_t now_ms) const {
    if (shard.map.size() < m_shard_capacity) {
        return;
    }
    if (shard.forced_evictions_left == 0) {
        shard.map.erase_if([&](const Entry& e) {
            return e.tat_us <= now_us && (e.violations == 0 || e.violations_until_ms <= now_ms);
        });
        // The sweep costs O(shard); the next one waits until this many forced
        // evictions have amortised it.
        shard.forced_evictions_left = std::max<std::size_t>(1, m_shard_capacity / 4);
    }
    if (shard.map.size() >= m_shard_capacity) {
        // A cheap walk through the slots (a large odd step), not a real choice.
        shard.next_victim += 0x9E37'79B9;
        shard.map.erase_some(shard.next_victim);
        --shard.forced_evictions_left;
    }
}

LimitResult RateLimiter::check(std::string_view id, const Policy& policy, std::int64_t cost,
                               const ViolationRule& rule) {
    check_cost(policy, cost);
    const std::int64_t now_ms = m_clock.now();
    const std::int64_t now = now_ms * 1000;
    const auto hash = hash_id(id);
    auto& shard = shard_of(hash);
    std::lock_guard lock(shard.mutex);
    Entry* entry = shard.map.find(id, hash);
    const std::int64_t tat = entry == nullptr ? now : std::max(entry->tat_us, now);
    LimitResult r = gcra_answer(policy, tat, now, cost, true);
    if (r.allowed) {
        if (entry == nullptr) {
            make_room(shard, now, now_ms);
            entry = &shard.map.insert(id, hash);
        }
        entry->tat_us = tat + cost * policy.interval_us();
        return r;
    }
    if (rule.threshold > 0 && entry != nullptr) {
        Entry& e = *entry;
        if (e.violations_until_ms <= now_ms) {
            e.violations = 0;
            e.violations_until_ms = now_ms + rule.window_ms;
        }
        if (++e.violations >= rule.threshold) {
            e.violations = 0;
            e.violations_until_ms = 0;
            r.ban_due = true;
        }
    }
    return r;
}

LimitResult RateLimiter::status(std::string_view id, const Policy& policy) const {
    const std::int64_t now = m_clock.now() * 1000;
    const auto hash = hash_id(id);
    auto& shard = shard_of(hash);
    std::int64_t tat = now;
    {
        std::lock_guard lock(shard.mutex);
        if (const Entry* e = shard.map.find(id, hash)) {
            tat = std::max(e->tat_us, now);
        }
    }
    return gcra_answer(policy, tat, now, 1, false);
}

bool RateLimiter::reset(std::string_view id) {
    const auto hash = hash_id(id);
    auto& shard = shard_of(hash);
    std::lock_guard lock(shard.mutex);
    return shard.map.erase(id, hash);
}

std::size_t RateLimiter::tracked() const {
    std::size_t n = 0;
    for (const auto& s : m_shards) {
        std::lock_guard lock(s.mutex);
        n += s.map.size();
    }
    return n;
}

}  // namespace pb::limits
