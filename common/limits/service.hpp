#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/core/clock.hpp"
#include "common/core/config.hpp"
#include "common/limits/ahead.hpp"
#include "common/limits/ban_service.hpp"
#include "common/limits/limiter.hpp"
#include "common/limits/policy.hpp"
#include "common/limits/redis_limiter.hpp"
#include "common/store/store.hpp"

namespace pb::limits {

// Who asks for a limit check, which decides what a Redis outage means.
enum class LimitUse {
    decision,  // a service asks pb (GET /v1/auth, limits.check): redis.on_failure
    api,       // pbd's own API guarding itself: redis.on_failure_api
};

// What to answer when Redis-backed limits cannot be checked.
enum class OnFailure { closed, open };

// Rate-limit settings, from the config (limits.*, bans.auto.threshold/window,
// redis.on_failure*).
struct LimitSettings {
    std::optional<Policy> ip;  // nullopt: that scope is not limited
    std::optional<Policy> user;
    std::optional<Policy> key;
    ViolationRule violations;  // denials that trigger an automatic ban
    std::size_t max_tracked = 250'000;
    OnFailure on_failure = OnFailure::closed;
    OnFailure on_failure_api = OnFailure::open;

    const std::optional<Policy>& policy(Scope scope) const;
};

// Reads limits.* and bans.* from `config`. Throws Error(invalid_argument)
// naming the setting (a bad rate, an unknown algorithm, a bad allow-list range).
LimitSettings limit_settings_from_config(const Config& config);
BanSettings ban_settings_from_config(const Config& config);

// The canonical form of an identifier in `scope`: an ip is parsed and printed
// back ("::ffff:1.2.3.4" and "1.2.3.4" are one client); users and keys are
// checked for length and control characters. Error(invalid_argument).
std::string canonical_id(Scope scope, std::string_view id);

// The rate limit stored with an API key (api_keys.rate_limit), or nullopt
// when it has none, the key does not exist, or the stored text is invalid
// (logged). One query: the daemon should take it from the cached key instead.
std::optional<Policy> key_rate_limit(store::Store& store, std::string_view key_id);

// Rate limits per scope, with automatic bans through BanService after
// repeated denials. Counters live in Redis when one is given (shared by every
// daemon and pbctl), else in this process (one RateLimiter per scope). When
// Redis cannot answer, a check follows the settings' failure policy for its
// LimitUse: closed throws Error(unavailable), open allows (result.degraded).
// Thread-safe.
class LimitService {
  public:
    LimitService(const Clock& clock, BanService& bans, LimitSettings settings,
                 redis::Client* redis = nullptr);

    // Spends `cost` for `id` under the scope's policy, or `override` (a key's
    // own rate limit). A scope without a policy always allows (limit 0). A
    // denial that completes bans.auto.threshold violations bans the identifier
    // (see BanService::auto_ban); a failure to write that ban is logged, never
    // thrown. For Scope::ip, `id` is an address in any spelling (counted by
    // its binary value, so every spelling shares one bucket); users and keys
    // should be canonical (canonical_id()). Error(invalid_argument) when cost
    // is outside 1..burst or an ip id is not an address.
    LimitResult check(Scope scope, std::string_view id, std::int64_t cost = 1,
                      const std::optional<Policy>& override = std::nullopt,
                      LimitUse use = LimitUse::decision);
    // check() for a client address, without formatting it: the daemon's hot path.
    LimitResult check_address(const IpAddress& address, std::int64_t cost = 1,
                              LimitUse use = LimitUse::decision);
    // What check() would answer for cost 1, spending nothing.
    // Error(unavailable) when Redis cannot answer.
    LimitResult status(Scope scope, std::string_view id,
                       const std::optional<Policy>& override = std::nullopt) const;
    // A key's and its identity's named limits, all or none (see BucketCheck),
    // in memory or in Redis like every limit here, Redis failures answered by
    // `use`'s failure policy (open: allowed and degraded, nothing counted).
    // Error(invalid_argument) for a cost outside 1..burst.
    std::vector<LimitResult> check_buckets(const std::vector<BucketCheck>& checks, LimitUse use);
    // Gives `id` its whole burst back. True if it was tracked.
    // Error(unavailable) when Redis cannot answer.
    bool reset(Scope scope, std::string_view id);

    // The Redis call check_address(address) would make (cost 1), or nullopt
    // when it would make none (no Redis, no address policy).
    std::optional<RedisCall> address_call(const IpAddress& address) const;
    // The same for check(scope, id, 1, override) of a user or key id.
    std::optional<RedisCall> caller_call(Scope scope, std::string_view id,
                                         const std::optional<Policy>& override) const;

    // "redis" or "memory": where the counters live.
    std::string_view backend() const { return m_redis ? "redis" : "memory"; }
    // Checks that Redis could not answer, by the policy applied.
    std::uint64_t failed_open() const { return m_failed_open.load(std::memory_order_relaxed); }
    std::uint64_t failed_closed() const { return m_failed_closed.load(std::memory_order_relaxed); }
    // Shadow named limits found over their limit by check_buckets (they
    // refused nothing), for pb_limit_shadow_denied_total.
    std::uint64_t named_shadow_denied() const {
        return m_named_shadow_denied.load(std::memory_order_relaxed);
    }

    // The policy check() applies for `scope` given `override`.
    std::optional<Policy> effective_policy(Scope scope,
                                           const std::optional<Policy>& override) const;
    const LimitSettings& settings() const { return m_settings; }
    // Identifiers tracked across scopes.
    std::size_t tracked() const;

  private:
    RateLimiter& limiter(Scope scope) const;
    LimitResult check_ip(const IpAddress& address, std::int64_t cost,
                         const std::optional<Policy>& override, LimitUse use);
    // Spends in Redis, applying the failure policy of `use`.
    LimitResult check_redis(Scope scope, std::string_view id, const Policy& policy,
                            std::int64_t cost, LimitUse use);
    void ban_automatically(Scope scope, std::string_view id, const Policy& policy);

    const Clock& m_clock;
    BanService& m_bans;
    LimitSettings m_settings;
    std::unique_ptr<RateLimiter> m_limiters[3];
    std::unique_ptr<RateLimiter> m_buckets;  // named limits (check_buckets)
    std::unique_ptr<RedisLimiter> m_redis;
    // gcra_args() of each scope's policy, by Scope (for the calls above).
    std::shared_ptr<const std::vector<std::string>> m_scope_args[3];
    std::atomic<std::uint64_t> m_failed_open{0};
    std::atomic<std::uint64_t> m_failed_closed{0};
    std::atomic<std::uint64_t> m_named_shadow_denied{0};
};

}  // namespace pb::limits
