#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/limits/limiter.hpp"
#include "common/limits/policy.hpp"
#include "common/redis/client.hpp"
#include "common/redis/resp.hpp"

namespace pb::limits {

// Limit checks made ahead of a request, without blocking: a transport that
// drives its own non-blocking Redis connection (pbd's HTTP workers) asks which
// checks a request will make (LimitService::address_call/caller_call), sends
// them through a ScriptChannel with check_ahead(), and handles the request
// once they are answered, inside the PrepaidChecks check_ahead() opened: the
// LimitService then takes those answers instead of asking Redis. What is sent
// (the GCRA script and its arguments) and how replies are read stay here.

// The Redis check a limit check would make, for a caller that sends it
// without blocking and hands the answer back through PrepaidChecks.
struct RedisCall {
    std::string key;  // the bucket
    // gcra_args() for a check of cost k_cost, shared: an address check's are
    // the same for every address.
    std::shared_ptr<const std::vector<std::string>> args;
    Policy policy;
    // What the args spend: a request's checks cost one each.
    static constexpr std::int64_t k_cost = 1;
};

// Answers from Redis obtained ahead of checks: while this object lives, a
// cost-1 check of one of these buckets on this thread, under the same policy,
// uses its answer once instead of asking Redis. RAII; one per request.
class PrepaidChecks {
  public:
    PrepaidChecks();
    ~PrepaidChecks();
    PrepaidChecks(const PrepaidChecks&) = delete;
    PrepaidChecks& operator=(const PrepaidChecks&) = delete;

    void add(std::string key, const Policy& policy, LimitResult result);
    // The answer for `key` under `policy`, once; nullopt otherwise.
    static std::optional<LimitResult> take(std::string_view key, const Policy& policy);

  private:
    struct Entry {
        std::string key;
        Policy policy;
        LimitResult result;
        bool used = false;
    };
    std::vector<Entry> m_entries;
    PrepaidChecks* m_outer;
};

// A non-blocking way to Redis, implemented by the transport (pbd's per-worker
// RedisPipe). A script that takes a batch as the GCRA script does: one key per
// check, each check's argument group number, then the groups.
class ScriptChannel {
  public:
    // Called with the reply and this check's place in it, or nullptr when
    // there is none to use (the blocking path then asks).
    using Callback = std::function<void(const redis::Reply*, std::size_t index)>;

    virtual ~ScriptChannel() = default;
    // Queues one check of `script` on `key` with `args`; `done` runs later on
    // the channel's thread, never inside this call.
    virtual void check(const redis::Script& script, std::string key,
                       std::shared_ptr<const std::vector<std::string>> args, Callback done) = 0;
};

// Sends `calls` through `channel`; once every one is answered (or found
// unanswerable), runs `then` on the channel's thread with their answers in a
// PrepaidChecks: the limit checks `then` makes take them. An answer that is
// missing or of an unexpected shape is left out, and its check asks Redis
// itself. `calls` must not be empty.
void check_ahead(ScriptChannel& channel, std::vector<RedisCall> calls, std::function<void()> then);

}  // namespace pb::limits
