#include "common/limits/redis_limiter.hpp"

#include "common/core/error.hpp"

namespace pb::limits {

// GCRA's state in Redis: per bucket its theoretical arrival time (a string
// expiring when the bucket is full again) and "<bucket>:v", its violation
// count and window (a hash, touched only by denials; derived here, so pb runs
// on one Redis, not a cluster). One call checks N buckets, in order, at one
// Redis TIME, atomically. KEYS: the buckets. ARGV: for each bucket the number
// of its argument group, then the groups, six arguments each (gcra_args): the
// checks of a batch mostly share one policy, so Redis parses it once.
// Returns the time (µs), then for each bucket the arrival time it was judged
// on (the stored one, or the time if that is earlier), negated when that
// denial made a ban due; the client derives the answer from it with the
// in-memory limiter's arithmetic (gcra_answer), so the two cannot disagree.
// Lua 5.1 numbers are doubles: exact for integers up to 2^53, which
// microsecond times (about 2^51 today) and burst × interval of any sane
// policy stay below; Redis prints integral ones exactly. Written for Redis's
// Lua, where each redis.call costs more than the arithmetic around it
// (measured with redis-benchmark and INFO commandstats): a batch reads every
// bucket with one MGET, keeps a bucket that recurs in the batch (a busy key,
// a gateway's address) in a table, and writes each changed bucket once at
// the end. Needs Redis 6.2 or later (SET … PXAT).
const redis::Script& gcra_script() {
    static const redis::Script script(R"lua(
local call, floor = redis.call, math.floor
local clock = call('TIME')
local now = clock[1] * 1000000 + clock[2]
local n = #KEYS
local stored = call('MGET', unpack(KEYS))
local out = {now}
local tats, changed = {}, {}
local counts, counted = {}, {}
for i = 1, n do
  local key = KEYS[i]
  local a = n + ARGV[i] * 6
  local tat = tats[key] or tonumber(stored[i]) or now
  if tat < now then tat = now end
  local sign = 1
  if ARGV[a + 4] == 'spend' then
    local t = tonumber(ARGV[a + 1])
    local new_tat = tat + ARGV[a + 3] * t
    if new_tat - ARGV[a + 2] * t <= now then
      if tats[key] == nil then changed[#changed + 1] = key end
      tats[key] = new_tat
    elseif tonumber(ARGV[a + 5]) > 0 then
      local vkey = key .. ':v'
      local c = counts[vkey]
      if c == nil then
        local h = call('HMGET', vkey, 'v', 'w')
        c = {tonumber(h[1]) or 0, tonumber(h[2]) or 0}
        counts[vkey] = c
        counted[#counted + 1] = vkey
      end
      local now_ms = floor(now / 1000)
      if c[2] <= now_ms then
        c[1] = 0
        c[2] = now_ms + ARGV[a + 6]
      end
      c[1] = c[1] + 1
      if c[1] >= tonumber(ARGV[a + 5]) then
        c[1], c[2] = 0, 0
        sign = -1
      end
    end
  end
  out[i + 1] = sign * tat
end
for _, key in ipairs(changed) do
  local tat = tats[key]
  call('SET', key, tat, 'PXAT', floor(tat / 1000) + 1000)
end
for _, vkey in ipairs(counted) do
  local c = counts[vkey]
  if c[1] == 0 then
    call('DEL', vkey)
  else
    call('HSET', vkey, 'v', c[1], 'w', c[2])
    call('PEXPIREAT', vkey, c[2] + 1000)
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

LimitResult gcra_result(const redis::Reply& reply, std::size_t index, const Policy& policy,
                        std::int64_t cost, bool spend) {
    const auto& e = reply.elements;
    if (reply.type != redis::Reply::Type::array || e.size() < index + 2 ||
        e[0].type != redis::Reply::Type::integer ||
        e[index + 1].type != redis::Reply::Type::integer) {
        throw Error(ErrorCode::internal, "redis: unexpected answer from the rate-limit script");
    }
    const std::int64_t judged = e[index + 1].integer;
    LimitResult r = gcra_answer(policy, judged < 0 ? -judged : judged, e[0].integer, cost, spend);
    r.ban_due = judged < 0;
    return r;
}

LimitResult RedisLimiter::run(std::string_view bucket, const Policy& policy, std::int64_t cost,
                              const ViolationRule& rule, bool spend) {
    const auto args = gcra_args(policy, cost, rule, spend);
    const std::string_view keys[] = {bucket};
    std::vector<std::string_view> views{"0"};  // the one bucket uses group 0
    views.insert(views.end(), args.begin(), args.end());
    return gcra_result(m_client.eval(gcra_script(), keys, views), 0, policy, cost, spend);
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
