#include "common/limits/redis_limiter.hpp"

#include "common/core/error.hpp"

namespace pb::limits {

// The arithmetic of RateLimiter::check/status (limiter.cpp), in Lua. Lua 5.1
// numbers are doubles: exact for integers up to 2^53, which microsecond times
// (about 2^51 today) and burst × interval of any sane policy stay below.
// KEYS[1] holds the bucket's theoretical arrival time (a string, expiring
// when the bucket is full again); KEYS[2] its violation count and window (a
// hash, touched only by denials). Returns {allowed, remaining,
// reset_after_ms, retry_after_ms, ban_due}. Written for Redis's Lua, where
// every call, closure, table and string.format costs (measured with
// redis-benchmark and INFO commandstats): an allowed check makes three calls
// (TIME, GET, SET … PXAT), and numbers go to Redis as numbers (Redis prints
// integral ones exactly). Needs Redis 6.2 or later (PXAT).
const redis::Script& gcra_script() {
    static const redis::Script script(R"lua(
local clock = redis.call('TIME')
local now = clock[1] * 1000000 + clock[2]
local t = tonumber(ARGV[1])
local full = ARGV[2] * t
local stored = tonumber(redis.call('GET', KEYS[1]))
local tat = now
if stored and stored > now then tat = stored end
if ARGV[4] ~= 'spend' then
  local left = math.min(ARGV[2], math.max(0, math.floor((now + full - tat) / t)))
  local allow_at = tat + t - full
  if allow_at > now then
    return {0, left, math.ceil((tat - now) / 1000), math.max(1, math.ceil((allow_at - now) / 1000)), 0}
  end
  return {1, left, math.max(0, math.ceil((tat - now) / 1000)), 0, 0}
end
local new_tat = tat + ARGV[3] * t
local allow_at = new_tat - full
if allow_at <= now then
  redis.call('SET', KEYS[1], new_tat, 'PXAT', math.floor(new_tat / 1000) + 1000)
  return {1, math.min(ARGV[2], math.floor((now + full - new_tat) / t)), math.ceil((new_tat - now) / 1000), 0, 0}
end
local ban = 0
local threshold = tonumber(ARGV[5])
if threshold > 0 and stored then
  local now_ms = math.floor(now / 1000)
  local state = redis.call('HMGET', KEYS[2], 'v', 'w')
  local v = tonumber(state[1]) or 0
  local w = tonumber(state[2]) or 0
  if w <= now_ms then
    v = 0
    w = now_ms + ARGV[6]
  end
  v = v + 1
  if v >= threshold then
    redis.call('DEL', KEYS[2])
    ban = 1
  else
    redis.call('HSET', KEYS[2], 'v', v, 'w', w)
    redis.call('PEXPIREAT', KEYS[2], w + 1000)
  end
end
local left = math.max(0, math.floor((now + full - tat) / t))
return {0, left, math.ceil((tat - now) / 1000), math.max(1, math.ceil((allow_at - now) / 1000)), ban}
)lua");
    return script;
}

std::array<std::string, 2> gcra_keys(std::string_view bucket) {
    return {std::string(bucket), std::string(bucket) + ":v"};
}

RedisLimiter::RedisLimiter(redis::Client& client) : m_client(client) {}

std::string RedisLimiter::key(Scope scope, std::string_view id) const {
    std::string k = m_client.options().prefix;
    k += "rl:";
    k += to_string(scope);
    k += ':';
    k += id;
    return k;
}

std::vector<std::string> gcra_args(const Policy& policy, std::int64_t cost,
                                   const ViolationRule& rule, bool spend) {
    return {std::to_string(policy.interval_us()),
            std::to_string(policy.burst),
            std::to_string(cost),
            spend ? "spend" : "status",
            std::to_string(rule.threshold),
            std::to_string(rule.window_ms)};
}

LimitResult gcra_result(const redis::Reply& reply, const Policy& policy) {
    if (reply.type != redis::Reply::Type::array || reply.elements.size() != 5) {
        throw Error(ErrorCode::internal, "redis: unexpected answer from the rate-limit script");
    }
    const auto& e = reply.elements;
    LimitResult r;
    r.allowed = e[0].integer == 1;
    r.limit = policy.burst;
    r.remaining = e[1].integer;
    r.reset_after_ms = e[2].integer;
    r.retry_after_ms = e[3].integer;
    r.ban_due = e[4].integer == 1;
    return r;
}

LimitResult RedisLimiter::run(std::string_view bucket, const Policy& policy, std::int64_t cost,
                              const ViolationRule& rule, bool spend) {
    const auto args = gcra_args(policy, cost, rule, spend);
    const auto names = gcra_keys(bucket);
    const std::string_view keys[] = {names[0], names[1]};
    const std::vector<std::string_view> views(args.begin(), args.end());
    return gcra_result(m_client.eval(gcra_script(), keys, views), policy);
}

LimitResult RedisLimiter::check(std::string_view bucket, const Policy& policy, std::int64_t cost,
                                const ViolationRule& rule) {
    check_cost(policy, cost);
    return run(bucket, policy, cost, rule, true);
}

LimitResult RedisLimiter::status(std::string_view bucket, const Policy& policy) {
    return run(bucket, policy, 1, {}, false);
}

bool RedisLimiter::reset(std::string_view bucket) {
    const auto names = gcra_keys(bucket);
    return m_client.command({"DEL", names[0], names[1]}).integer > 0;
}

}  // namespace pb::limits
