#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/limits/limiter.hpp"
#include "common/limits/policy.hpp"
#include "common/redis/client.hpp"

namespace pb::limits {

// The Lua script RedisLimiter runs (see redis_limiter.cpp): KEYS the buckets,
// ARGV each bucket's argument group, then the groups (gcra_args()).
// Public for the benchmark that compares it with redis-benchmark.
const redis::Script& gcra_script();

// The key of a bucket's violation count, beside the bucket's own key.
std::string gcra_violations_key(std::string_view bucket);
// The script's six arguments for a check (`spend`) or a status of one
// bucket, and the answer for the `index`th bucket of a reply to such a check
// as a LimitResult, given the same policy, cost and spend as its arguments
// (Error(internal) for a reply of another shape).
std::vector<std::string> gcra_args(const Policy& policy, std::int64_t cost,
                                   const ViolationRule& rule, bool spend);
LimitResult gcra_result(const redis::Reply& reply, std::size_t index, const Policy& policy,
                        std::int64_t cost, bool spend);

// GCRA in Redis, so that every daemon (and pbctl) spends from one bucket per
// identifier: one Lua script per call, atomic on the server, with the time
// taken from Redis (TIME) so that the daemons' clocks cannot disagree. Answers
// exactly as RateLimiter does in memory (the same fields and arithmetic, on
// the same GCRA state: theoretical arrival time and violation count). Buckets
// expire in Redis once refilled. Thread-safe (the client is).
class RedisLimiter {
  public:
    explicit RedisLimiter(redis::Client& client);

    // Errors: Error(invalid_argument) for a cost outside 1..burst (before
    // asking Redis); Error(unavailable) when Redis cannot answer.
    LimitResult check(std::string_view bucket, const Policy& policy, std::int64_t cost,
                      const ViolationRule& rule);
    LimitResult status(std::string_view bucket, const Policy& policy);
    // RateLimiter::check_all's answers, in one script call on Redis's clock.
    std::vector<LimitResult> check_all(const std::vector<BucketCheck>& checks);
    // True if the bucket existed.
    bool reset(std::string_view bucket);

    // The Redis key of a bucket: <prefix>rl:<scope>:<id>.
    std::string key(Scope scope, std::string_view id) const;

  private:
    LimitResult run(std::string_view bucket, const Policy& policy, std::int64_t cost,
                    const ViolationRule& rule, bool spend);

    redis::Client& m_client;
};

}  // namespace pb::limits
