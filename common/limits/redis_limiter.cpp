#include "common/limits/redis_limiter.hpp"

#include "common/core/error.hpp"

namespace pb::limits {

// The arithmetic of RateLimiter::check/status (limiter.cpp), in Lua. Lua 5.1
// numbers are doubles: exact for integers up to 2^53, which microsecond times
// (about 2^51 today) and burst × interval of any sane policy stay below.
// Returns {allowed, remaining, reset_after_ms, retry_after_ms, ban_due}.
// Each redis.call costs the script about 2 µs (Redis 7, measured with
// tests/bench/redis.sh), several times the command itself: keep() is given the
// violation window end it needs ('w', read by the HMGET or just written)
// rather than reading it back.
const redis::Script& gcra_script() {
    static const redis::Script script(R"lua(
redis.replicate_commands()
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local now_ms = math.floor(now / 1000)
local t = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local spend = ARGV[4] == 'spend'
local threshold = tonumber(ARGV[5])
local window = tonumber(ARGV[6])
local state = redis.call('HMGET', KEYS[1], 't', 'v', 'w')
local stored = tonumber(state[1])
local tat = now
if stored and stored > now then tat = stored end
local function ceil_ms(us)
  if us <= 0 then return 0 end
  return math.floor((us + 999) / 1000)
end
local function remaining(at)
  local r = math.floor((now + burst * t - at) / t)
  if r < 0 then return 0 end
  if r > burst then return burst end
  return r
end
local function keep(until_ms, w)
  if w > until_ms then until_ms = w end
  redis.call('PEXPIREAT', KEYS[1], string.format('%.0f', until_ms + 1000))
end
if not spend then
  local allow_at = tat + t - burst * t
  if allow_at > now then
    return {0, remaining(tat), ceil_ms(tat - now), math.max(1, ceil_ms(allow_at - now)), 0}
  end
  return {1, remaining(tat), ceil_ms(tat - now), 0, 0}
end
local new_tat = tat + cost * t
local allow_at = new_tat - burst * t
if allow_at <= now then
  redis.call('HSET', KEYS[1], 't', string.format('%.0f', new_tat))
  keep(now_ms + ceil_ms(new_tat - now), tonumber(state[3]) or 0)
  return {1, remaining(new_tat), ceil_ms(new_tat - now), 0, 0}
end
local ban = 0
if threshold > 0 and stored then
  local v = tonumber(state[2]) or 0
  local w = tonumber(state[3]) or 0
  if w <= now_ms then
    v = 0
    w = now_ms + window
  end
  v = v + 1
  if v >= threshold then
    v = 0
    w = 0
    ban = 1
  end
  redis.call('HSET', KEYS[1], 'v', v, 'w', string.format('%.0f', w))
  keep(now_ms + ceil_ms(tat - now), w)
end
return {0, remaining(tat), ceil_ms(tat - now), math.max(1, ceil_ms(allow_at - now)), ban}
)lua");
    return script;
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

LimitResult RedisLimiter::run(std::string_view bucket, const Policy& policy, std::int64_t cost,
                              const ViolationRule& rule, bool spend) {
    const auto interval = std::to_string(policy.interval_us());
    const auto burst = std::to_string(policy.burst);
    const auto cost_text = std::to_string(cost);
    const auto threshold = std::to_string(rule.threshold);
    const auto window = std::to_string(rule.window_ms);
    const std::string_view keys[] = {bucket};
    const std::string_view args[] = {interval,  burst, cost_text, spend ? "spend" : "status",
                                     threshold, window};
    const auto reply = m_client.eval(gcra_script(), keys, args);
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

LimitResult RedisLimiter::check(std::string_view bucket, const Policy& policy, std::int64_t cost,
                                const ViolationRule& rule) {
    check_cost(policy, cost);
    return run(bucket, policy, cost, rule, true);
}

LimitResult RedisLimiter::status(std::string_view bucket, const Policy& policy) {
    return run(bucket, policy, 1, {}, false);
}

bool RedisLimiter::reset(std::string_view bucket) {
    return m_client.command({"DEL", bucket}).integer > 0;
}

}  // namespace pb::limits
