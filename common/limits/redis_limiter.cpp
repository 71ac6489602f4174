#include "common/limits/redis_limiter.hpp"

#include "common/core/error.hpp"

namespace pb::limits {

// The arithmetic of RateLimiter::check/status (limiter.cpp), in Lua. Lua 5.1
// numbers are doubles: exact for integers up to 2^53, which microsecond times
// (about 2^51 today) and burst × interval of any sane policy stay below.
// One call checks N buckets, in order, at one Redis TIME. KEYS: the buckets
// (each holds its theoretical arrival time, a string expiring when the
// bucket is full again; "<bucket>:v" holds its violation count and window, a
// hash touched only by denials, derived here: pb runs on one Redis, not a
// cluster). ARGV: for each bucket the number of its argument group, then the
// groups, six arguments each (gcra_args): the checks of a batch mostly share
// one policy, so Redis parses it once. Returns five integers per bucket:
// allowed, remaining, reset_after_ms, retry_after_ms, ban_due. pbd sends the
// checks of requests that arrive together as one call. Written for Redis's
// Lua, where every call, table and string costs (measured with
// redis-benchmark and INFO commandstats): an allowed check makes two calls
// (GET, SET … PXAT) besides the batch's TIME, and numbers go to Redis as
// numbers (Redis prints integral ones exactly). Needs Redis 6.2 or later.
const redis::Script& gcra_script() {
    static const redis::Script script(R"lua(
local floor, ceil, min, max = math.floor, math.ceil, math.min, math.max
local call = redis.call
local clock = call('TIME')
local now = clock[1] * 1000000 + clock[2]
local out = {}
local n = #KEYS
for i = 1, n do
  local a = n + ARGV[i] * 6
  local o = (i - 1) * 5
  local t = tonumber(ARGV[a + 1])
  local burst = tonumber(ARGV[a + 2])
  local full = burst * t
  local stored = tonumber(call('GET', KEYS[i]))
  local tat = now
  if stored and stored > now then tat = stored end
  out[o + 5] = 0
  if ARGV[a + 4] ~= 'spend' then
    local allow_at = tat + t - full
    out[o + 2] = min(burst, max(0, floor((now + full - tat) / t)))
    out[o + 3] = ceil((tat - now) / 1000)
    if allow_at > now then
      out[o + 1] = 0
      out[o + 4] = max(1, ceil((allow_at - now) / 1000))
    else
      out[o + 1] = 1
      out[o + 4] = 0
    end
  else
    local new_tat = tat + ARGV[a + 3] * t
    local allow_at = new_tat - full
    if allow_at <= now then
      call('SET', KEYS[i], new_tat, 'PXAT', floor(new_tat / 1000) + 1000)
      out[o + 1] = 1
      out[o + 2] = min(burst, floor((now + full - new_tat) / t))
      out[o + 3] = ceil((new_tat - now) / 1000)
      out[o + 4] = 0
    else
      local threshold = tonumber(ARGV[a + 5])
      if threshold > 0 and stored then
        local now_ms = floor(now / 1000)
        local vkey = KEYS[i] .. ':v'
        local state = call('HMGET', vkey, 'v', 'w')
        local v = tonumber(state[1]) or 0
        local w = tonumber(state[2]) or 0
        if w <= now_ms then
          v = 0
          w = now_ms + ARGV[a + 6]
        end
        v = v + 1
        if v >= threshold then
          call('DEL', vkey)
          out[o + 5] = 1
        else
          call('HSET', vkey, 'v', v, 'w', w)
          call('PEXPIREAT', vkey, w + 1000)
        end
      end
      out[o + 1] = 0
      out[o + 2] = max(0, floor((now + full - tat) / t))
      out[o + 3] = ceil((tat - now) / 1000)
      out[o + 4] = max(1, ceil((allow_at - now) / 1000))
    end
  end
end
return out
)lua");
    return script;
}

std::string gcra_violations_key(std::string_view bucket) {
    return std::string(bucket) + ":v";
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

LimitResult gcra_result(const redis::Reply& reply, const Policy& policy, std::size_t index) {
    if (reply.type != redis::Reply::Type::array || reply.elements.size() < 5 * (index + 1)) {
        throw Error(ErrorCode::internal, "redis: unexpected answer from the rate-limit script");
    }
    const auto* e = &reply.elements[5 * index];
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
    const std::string_view keys[] = {bucket};
    std::vector<std::string_view> views{"0"};  // the one bucket uses group 0
    views.insert(views.end(), args.begin(), args.end());
    return gcra_result(m_client.eval(gcra_script(), keys, views), policy, 0);
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
    return m_client.command({"DEL", bucket, gcra_violations_key(bucket)}).integer > 0;
}

}  // namespace pb::limits
