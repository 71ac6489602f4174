// Named limits checked together (a key's and its identity's): all or
// nothing, in memory (RateLimiter), in Redis (one script) and in the database
// (StoreLimiter: one transaction) alike, with the one GCRA arithmetic of
// gcra_answer.
#include "common/limits/named_check.hpp"

#include <algorithm>
#include <mutex>
#include <numeric>

#include "common/core/error.hpp"
#include "common/limits/limiter.hpp"
#include "common/limits/redis_limiter.hpp"
#include "common/limits/service.hpp"
#include "common/limits/store_limiter.hpp"

namespace pb::limits {
namespace {

using store::Connection;

// The scope of named limits' rows in limit_counters (pbctl on the database).
constexpr std::string_view k_named_scope = "named";

// KEYS: the buckets; ARGV: four per bucket (interval µs, burst, cost,
// "shadow" or "enforce"). Judges every bucket at one Redis TIME; spends the
// ones that fit only when every enforced one fits. Returns the time, each
// bucket's judged arrival time, then 1 when it spent (0 when refused).
const redis::Script& all_or_nothing_script() {
    static const redis::Script script(R"lua(
local call, floor = redis.call, math.floor
local clock = call('TIME')
local now = clock[1] * 1000000 + clock[2]
local n = #KEYS
local stored = call('MGET', unpack(KEYS))
local out, new, ok = {now}, {}, 1
for i = 1, n do
  local a = (i - 1) * 4
  local t, burst, cost = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  local tat = tonumber(stored[i]) or now
  if tat < now then tat = now end
  out[i + 1] = tat
  local nt = tat + cost * t
  if nt - burst * t <= now then
    new[i] = nt
  elseif ARGV[a + 4] ~= 'shadow' then
    ok = 0
  end
end
if ok == 1 then
  for i = 1, n do
    if new[i] then call('SET', KEYS[i], new[i], 'PXAT', floor(new[i] / 1000) + 1000) end
  end
end
out[n + 2] = ok
return out
)lua");
    return script;
}

void check_costs(const std::vector<BucketCheck>& checks) {
    for (const auto& c : checks) {
        check_cost(c.policy, c.cost);
    }
}

// The answers given each bucket's judged time: spent ones describe the
// bucket after spending, the rest as it stands.
std::vector<LimitResult> answers(const std::vector<BucketCheck>& checks,
                                 const std::vector<std::int64_t>& tats, std::int64_t now,
                                 bool spent) {
    std::vector<LimitResult> out;
    out.reserve(checks.size());
    for (std::size_t i = 0; i < checks.size(); ++i) {
        const auto& c = checks[i];
        auto r = gcra_answer(c.policy, tats[i], now, c.cost, spent);
        out.push_back(r);
    }
    return out;
}

bool all_enforced_allowed(const std::vector<BucketCheck>& checks,
                          const std::vector<LimitResult>& results) {
    for (std::size_t i = 0; i < checks.size(); ++i) {
        if (!checks[i].shadow && !results[i].allowed) {
            return false;
        }
    }
    return true;
}

// After spending: a shadow bucket over its limit was not spent, and is
// described as it stands.
void describe_unspent(const std::vector<BucketCheck>& checks, const std::vector<std::int64_t>& tats,
                      std::int64_t now, std::vector<LimitResult>& results) {
    for (std::size_t i = 0; i < checks.size(); ++i) {
        if (!results[i].allowed) {
            results[i] = gcra_answer(checks[i].policy, tats[i], now, checks[i].cost, false);
        }
    }
}

// The verdict of a check in one place (memory, database) given each bucket's
// judged time: spend every bucket that fits when every enforced one fits
// (`spend`, and then a result allowed is a bucket to spend), else nothing.
struct Judged {
    std::vector<LimitResult> results;
    bool spend = false;
};
Judged judge(const std::vector<BucketCheck>& checks, const std::vector<std::int64_t>& tats,
             std::int64_t now) {
    auto results = answers(checks, tats, now, true);
    if (!all_enforced_allowed(checks, results)) {
        return {answers(checks, tats, now, false), false};
    }
    describe_unspent(checks, tats, now, results);
    return {std::move(results), true};
}

}  // namespace

std::vector<LimitResult> RateLimiter::check_all(const std::vector<BucketCheck>& checks) {
    check_costs(checks);
    const std::int64_t now_ms = m_clock.now();
    const std::int64_t now = now_ms * 1000;
    // Every shard concerned, locked in index order (no two callers deadlock).
    std::vector<std::size_t> shards;
    std::vector<std::uint64_t> hashes;
    for (const auto& c : checks) {
        hashes.push_back(hash_id(c.bucket));
        shards.push_back(static_cast<std::size_t>(&shard_of(hashes.back()) - m_shards.data()));
    }
    auto order = shards;
    std::sort(order.begin(), order.end());
    order.erase(std::unique(order.begin(), order.end()), order.end());
    std::vector<std::unique_lock<std::mutex>> locks;
    locks.reserve(order.size());
    for (const auto s : order) {
        locks.emplace_back(m_shards[s].mutex);
    }
    std::vector<std::int64_t> tats;
    tats.reserve(checks.size());
    for (std::size_t i = 0; i < checks.size(); ++i) {
        const Entry* e = m_shards[shards[i]].map.find(checks[i].bucket, hashes[i]);
        tats.push_back(e == nullptr ? now : std::max(e->tat_us, now));
    }
    auto judged = judge(checks, tats, now);
    if (!judged.spend) {
        return std::move(judged.results);
    }
    for (std::size_t i = 0; i < checks.size(); ++i) {
        if (!judged.results[i].allowed) {
            continue;  // a shadow bucket over its limit: reported, not spent
        }
        auto& shard = m_shards[shards[i]];
        Entry* e = shard.map.find(checks[i].bucket, hashes[i]);
        if (e == nullptr) {
            make_room(shard, now, now_ms);
            e = &shard.map.insert(checks[i].bucket, hashes[i]);
        }
        e->tat_us = tats[i] + checks[i].cost * checks[i].policy.interval_us();
    }
    return std::move(judged.results);
}

std::vector<LimitResult> StoreLimiter::check_all(const std::vector<BucketCheck>& checks) {
    check_costs(checks);
    // Rows are locked in the buckets' order: two checks sharing buckets (two
    // keys of one identity) take them in the same order, and never deadlock.
    std::vector<std::size_t> order(checks.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return checks[a].bucket < checks[b].bucket; });
    return m_store.transaction(
        [&](Connection& c) {
            const std::int64_t now = m_clock.now() * 1000;
            std::vector<Row> rows(checks.size());
            std::vector<std::int64_t> tats(checks.size());
            for (const auto i : order) {
                rows[i] = read_row(c, k_named_scope, checks[i].bucket, true);
                tats[i] = rows[i].found ? std::max(rows[i].tat_us, now) : now;
            }
            auto judged = judge(checks, tats, now);
            if (!judged.spend) {
                return std::move(judged.results);  // nothing written
            }
            for (const auto i : order) {
                if (judged.results[i].allowed) {
                    rows[i].tat_us = tats[i] + checks[i].cost * checks[i].policy.interval_us();
                    write_row(c, k_named_scope, checks[i].bucket, rows[i]);
                }
            }
            return std::move(judged.results);
        },
        store::TxMode::write);
}

std::vector<LimitResult> RedisLimiter::check_all(const std::vector<BucketCheck>& checks) {
    check_costs(checks);
    std::string prefix = m_client.options().prefix;
    prefix += "rl:named:";
    std::vector<std::string> keys;
    std::vector<std::string> args;
    for (const auto& c : checks) {
        keys.push_back(prefix);
        keys.back() += c.bucket;
        args.push_back(std::to_string(c.policy.interval_us()));
        args.push_back(std::to_string(c.policy.burst));
        args.push_back(std::to_string(c.cost));
        args.push_back(c.shadow ? "shadow" : "enforce");
    }
    const std::vector<std::string_view> key_views(keys.begin(), keys.end());
    const std::vector<std::string_view> arg_views(args.begin(), args.end());
    const auto reply = m_client.eval(all_or_nothing_script(), key_views, arg_views);
    const auto& e = reply.elements;
    const auto n = checks.size();
    if (reply.type != redis::Reply::Type::array || e.size() != n + 2) {
        throw Error(ErrorCode::internal, "redis: unexpected answer from the named-limits script");
    }
    for (const auto& item : e) {
        if (item.type != redis::Reply::Type::integer) {
            throw Error(ErrorCode::internal,
                        "redis: unexpected answer from the named-limits script");
        }
    }
    std::vector<std::int64_t> tats;
    for (std::size_t i = 0; i < n; ++i) {
        tats.push_back(e[i + 1].integer);
    }
    const bool spent = e[n + 1].integer == 1;
    auto results = answers(checks, tats, e[0].integer, spent);
    if (spent) {
        describe_unspent(checks, tats, e[0].integer, results);
    }
    return results;
}

std::vector<LimitResult> LimitService::check_buckets(const std::vector<BucketCheck>& checks,
                                                     LimitUse use) {
    if (checks.empty()) {
        return {};
    }
    const auto counted = [&](std::vector<LimitResult> results) {
        for (std::size_t i = 0; i < checks.size(); ++i) {
            if (checks[i].shadow && !results[i].allowed) {
                m_named_shadow_denied.fetch_add(1, std::memory_order_relaxed);
                // Labelled by the limit's name, not its key or identity.
                const auto& b = checks[i].bucket;
                m_shadow.add("limit:" + b.substr(b.rfind(':') + 1));
            }
        }
        return results;
    };
    if (m_store_limiter) {
        return counted(m_store_limiter->check_all(checks));  // pbctl on the database
    }
    if (!m_redis) {
        return counted(m_buckets->check_all(checks));
    }
    try {
        return counted(m_redis->check_all(checks));
    } catch (const Error& e) {
        if (e.code() != ErrorCode::unavailable) {
            throw;
        }
        const auto on_failure = use == LimitUse::api ? m_active->settings.on_failure_api
                                                     : m_active->settings.on_failure;
        if (on_failure == OnFailure::open) {
            m_failed_open.fetch_add(1, std::memory_order_relaxed);
            std::vector<LimitResult> out(checks.size());
            for (auto& r : out) {
                r.degraded = true;
            }
            return out;
        }
        m_failed_closed.fetch_add(1, std::memory_order_relaxed);
        throw Error(ErrorCode::unavailable,
                    "named limits cannot be checked: Redis is unavailable (failing closed)",
                    {{"redis", "unavailable"}, {"retry_after_ms", 1000}});
    }
}

}  // namespace pb::limits
