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
#include "common/core/swappable.hpp"
#include "common/limits/ahead.hpp"
#include "common/limits/ban_service.hpp"
#include "common/limits/limiter.hpp"
#include "common/limits/overrides.hpp"
#include "common/limits/policy.hpp"
#include "common/limits/redis_limiter.hpp"
#include "common/limits/shadow_counters.hpp"
#include "common/limits/store_limiter.hpp"
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
    // limits.<scope>.shadow: the scope's policy counts and reports, never refuses.
    bool ip_shadow = false;
    bool user_shadow = false;
    bool key_shadow = false;
    ViolationRule violations;  // denials that trigger an automatic ban
    std::size_t max_tracked = 250'000;
    OnFailure on_failure = OnFailure::closed;
    OnFailure on_failure_api = OnFailure::open;

    const std::optional<Policy>& policy(Scope scope) const;
    bool shadow(Scope scope) const;
};

// Where a LimitService finds what it needs beyond its settings.
struct LimitSources {
    // Redis (redis.url): the counters of every daemon and pbctl. Wins over
    // `store` below.
    redis::Client* redis = nullptr;
    // The database: overrides (with `follower`, which delivers their changes)
    // and, with count_in_store, the counters (pbctl on the database).
    store::Store* store = nullptr;
    events::Follower* follower = nullptr;
    bool count_in_store = false;
};

// Reads limits.* and bans.* from `config`. Throws Error(invalid_argument)
// naming the setting (a bad rate, an unknown algorithm, a bad allow-list range).
LimitSettings limit_settings_from_config(const Config& config);
BanSettings ban_settings_from_config(const Config& config);

// The canonical form of an identifier in `scope`: an ip is parsed and printed
// back ("::ffff:1.2.3.4" and "1.2.3.4" are one client); users and keys are
// checked for length and control characters. Error(invalid_argument).
std::string canonical_id(Scope scope, std::string_view id);

// What a key's limit depends on: its own rate limit (api_keys.rate_limit;
// nullopt when it has none, the key does not exist, or the stored text is
// invalid, logged) and its identity (empty when none). One query: the
// daemon should take them from the cached key instead.
struct KeyLimitFacts {
    std::optional<Policy> own;
    std::string identity;
};
KeyLimitFacts key_limit_facts(store::Store& store, std::string_view key_id);

// The counter a caller's requests spend and the policy it is checked under
// (LimitService::caller_limit()).
struct CallerLimit {
    std::string id;                       // the counter's id within its scope
    std::optional<AppliedPolicy> policy;  // nullopt: not limited
};

// The counter id of an identity's override in the key scope: one counter
// for every key of the identity ("identity:ID"; a key id has no ':').
std::string identity_counter(std::string_view identity);

// Rate limits per scope, with automatic bans through BanService after
// repeated denials. Counters live in Redis when one is given (shared by every
// daemon and pbctl), else in the database when asked (pbctl on the database:
// its runs share them), else in this process (pbd: one RateLimiter per
// scope). When Redis cannot answer, a check follows the settings' failure
// policy for its LimitUse: closed throws Error(unavailable), open allows
// (result.degraded).
//
// The policy of a check (resolve_policy()), first that applies: the caller's
// own (a key's rate_limit; the identities' code passes an identity's), an
// override (exact, then CIDR longest prefix first, then glob longest literal
// prefix first, then newest), the scope's policy. A shadow policy counts and
// reports but never refuses (shadow_denials()). Thread-safe.
class LimitService {
  public:
    LimitService(const Clock& clock, BanService& bans, LimitSettings settings,
                 redis::Client* redis = nullptr);
    LimitService(const Clock& clock, BanService& bans, LimitSettings settings,
                 LimitSources sources);

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
    // status() of a counter under a policy caller_limit() chose.
    LimitResult status_applied(Scope scope, std::string_view id,
                               const std::optional<AppliedPolicy>& policy) const;
    // A key's and its identity's named limits, all or none (see BucketCheck),
    // in memory, Redis or the database like every limit here, Redis failures answered by
    // `use`'s failure policy (open: allowed and degraded, nothing counted).
    // Error(invalid_argument) for a cost outside 1..burst.
    std::vector<LimitResult> check_buckets(const std::vector<BucketCheck>& checks, LimitUse use);
    // Gives `id` its whole burst back. True if it was tracked.
    // Error(unavailable) when Redis cannot answer.
    bool reset(Scope scope, std::string_view id);

    // The Redis call check_address(address) would make (cost 1), or nullopt
    // when it would make none (no Redis, no address policy).
    std::optional<RedisCall> address_call(const IpAddress& address) const;
    // The same for check_applied(scope, limit.id, 1, limit.policy) of a user
    // or key (limit from caller_limit()).
    std::optional<RedisCall> caller_call(Scope scope, const CallerLimit& limit) const;

    // The counter and policy of a caller in `scope`. For a key: its own
    // limit (`own`, counted per key); else, when it belongs to `identity`,
    // that identity's override (identity:ID), counted once for every key of
    // the identity (identity_counter()); else resolve_policy() (a key:ID
    // override, then the scope's policy), per key. For users and addresses:
    // resolve_policy() with `own`, counted per id.
    CallerLimit caller_limit(Scope scope, std::string_view id, const std::optional<Policy>& own,
                             std::string_view identity = {}) const;

    // The policy a check of `id` in `scope` applies: `own` (the caller's
    // own limit, already named and marked shadow or not) when given, else the
    // override that matches, else the scope's policy; nullopt when none
    // (the scope is off). For Scope::ip, `id` is an address
    // (Error(invalid_argument) otherwise). The hook for limits above the
    // overrides: pass them as `own`, then check_applied().
    std::optional<AppliedPolicy> resolve_policy(
        Scope scope, std::string_view id,
        const std::optional<AppliedPolicy>& own = std::nullopt) const;
    // Spends `cost` for `id` under a policy resolve_policy() chose (nullopt:
    // allows, limit 0), with shadow, automatic bans and the failure policy as
    // check() applies them.
    LimitResult check_applied(Scope scope, std::string_view id, std::int64_t cost,
                              const std::optional<AppliedPolicy>& policy,
                              LimitUse use = LimitUse::decision);
    // The name of a caller's own limit in answers: "key:ID" (a key's
    // rate_limit) or "user:NAME".
    static std::string own_policy_name(Scope scope, std::string_view id);

    // "redis", "database" or "memory": where the counters live.
    std::string_view backend() const {
        return m_redis ? "redis" : m_store_limiter ? "database" : "memory";
    }
    // The overrides (nullptr without a store).
    OverrideService* overrides() const { return m_overrides.get(); }
    // Denials shadow policies let through, by policy name (for /metrics).
    ShadowCounters& shadow_denials() const { return m_shadow; }

    // Checks that Redis could not answer, by the policy applied.
    std::uint64_t failed_open() const { return m_failed_open.load(std::memory_order_relaxed); }
    std::uint64_t failed_closed() const { return m_failed_closed.load(std::memory_order_relaxed); }
    // Shadow named limits found over their limit by check_buckets (they
    // refused nothing), for pb_limit_shadow_denied_total.
    std::uint64_t named_shadow_denied() const {
        return m_named_shadow_denied.load(std::memory_order_relaxed);
    }

    // The settings in force (a reference that stays valid after a reload).
    const LimitSettings& settings() const { return m_active->settings; }
    // Applies new policies, violation rule, shadow flags and failure policies
    // at once; a check under way finishes with the ones it started with.
    // Counters stay (a GCRA bucket is one time, read under whatever policy
    // comes next); max_tracked stays as built (it sizes the limiters: a restart).
    void reload(LimitSettings settings);
    // Identifiers tracked across scopes.
    std::size_t tracked() const;

  private:
    RateLimiter& limiter(Scope scope) const;
    std::optional<AppliedPolicy> own_policy(Scope scope, std::string_view id,
                                            const std::optional<Policy>& own) const;
    std::optional<AppliedPolicy> resolve_address(const IpAddress& address,
                                                 const std::optional<AppliedPolicy>& own) const;
    LimitResult check_ip(const IpAddress& address, std::int64_t cost,
                         const std::optional<AppliedPolicy>& own, LimitUse use);
    // Shadow, automatic ban and the policy's name on a counted result.
    LimitResult finish(Scope scope, std::string_view id, const AppliedPolicy& policy,
                       LimitResult r);
    // Spends in Redis, applying the failure policy of `use`.
    LimitResult check_redis(Scope scope, std::string_view id, const Policy& policy,
                            std::int64_t cost, LimitUse use);
    void ban_automatically(Scope scope, std::string_view id, const Policy& policy);

    // The settings and what is derived from them, swapped together.
    struct Active {
        LimitSettings settings;
        // gcra_args() of each scope's policy, by Scope (for the Redis calls).
        std::shared_ptr<const std::vector<std::string>> scope_args[3];
    };
    Active active_from(LimitSettings settings) const;

    const Clock& m_clock;
    BanService& m_bans;
    std::unique_ptr<RedisLimiter> m_redis;  // before m_active: active_from() reads it
    Swappable<Active> m_active;
    std::unique_ptr<RateLimiter> m_limiters[3];
    std::unique_ptr<StoreLimiter> m_store_limiter;
    std::unique_ptr<OverrideService> m_overrides;
    mutable ShadowCounters m_shadow;
    std::unique_ptr<RateLimiter> m_buckets;  // named limits (check_buckets)
    std::atomic<std::uint64_t> m_failed_open{0};
    std::atomic<std::uint64_t> m_failed_closed{0};
    std::atomic<std::uint64_t> m_named_shadow_denied{0};
};

}  // namespace pb::limits
