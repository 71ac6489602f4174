#include "common/limits/service.hpp"

#include <array>
#include <cstring>

#include "common/core/error.hpp"
#include "common/core/log.hpp"
#include "common/core/time_format.hpp"
#include "common/limits/outcomes.hpp"

namespace pb::limits {
namespace {

void count_outcome(Scope scope, const LimitResult& r) {
    limit_check_outcomes(scope).count(r.degraded  ? std::size_t{2}
                                      : r.allowed ? std::size_t{0}
                                                  : std::size_t{1});
}

std::optional<Policy> policy_from(const Config& config, std::string_view scope) {
    const std::string prefix = "limits." + std::string(scope);
    try {
        return parse_policy(config.get(prefix + ".rate"), config.get_int(prefix + ".burst"),
                            prefix + ".rate");
    } catch (const Error& e) {
        // Named as a setting ({"key"}), as every other bad setting is.
        throw Error(e.code(), e.what(), {{"key", prefix + ".rate"}});
    }
}

[[noreturn]] void bad_setting(std::string_view key, const std::string& why) {
    throw Error(ErrorCode::invalid_argument, std::string(key) + ": " + why, {{"key", key}});
}

std::int64_t at_least(const Config& config, std::string_view key, std::int64_t min) {
    const auto v = config.get_int(key);
    if (v < min) {
        bad_setting(key, "must be at least " + std::to_string(min));
    }
    return v;
}

OnFailure on_failure_from(const Config& config, std::string_view key) {
    const auto& v = config.get(key);
    if (v == "closed") {
        return OnFailure::closed;
    }
    if (v == "open") {
        return OnFailure::open;
    }
    bad_setting(key, "expected closed or open, got \"" + v + "\"");
}

std::size_t index(Scope s) {
    return static_cast<std::size_t>(s);
}

// The limiter key of an address: its family and 128 bits, 17 bytes, no formatting.
class AddressKey {
  public:
    explicit AddressKey(const IpAddress& a) {
        m_bytes[0] = a.family == IpFamily::v4 ? '4' : '6';
        std::memcpy(m_bytes.data() + 1, &a.bits.hi, 8);
        std::memcpy(m_bytes.data() + 9, &a.bits.lo, 8);
    }
    std::string_view view() const { return {m_bytes.data(), m_bytes.size()}; }

  private:
    std::array<char, 17> m_bytes{};
};

IpAddress address_of(std::string_view id) {
    try {
        return parse_ip_strict(id);
    } catch (const Error& e) {
        throw Error(ErrorCode::invalid_argument, std::string("id: ") + e.what(), {{"param", "id"}});
    }
}

}  // namespace

const std::optional<Policy>& LimitSettings::policy(Scope scope) const {
    switch (scope) {
        case Scope::ip:
            return ip;
        case Scope::user:
            return user;
        case Scope::key:
            return key;
    }
    return ip;
}

bool LimitSettings::shadow(Scope scope) const {
    switch (scope) {
        case Scope::ip:
            return ip_shadow;
        case Scope::user:
            return user_shadow;
        case Scope::key:
            return key_shadow;
    }
    return false;
}

LimitSettings limit_settings_from_config(const Config& config) {
    if (config.get("limits.algorithm") != "gcra") {
        bad_setting("limits.algorithm", "expected gcra (the only algorithm so far), got \"" +
                                            config.get("limits.algorithm") + "\"");
    }
    LimitSettings s;
    s.ip = policy_from(config, "ip");
    s.user = policy_from(config, "user");
    s.key = policy_from(config, "key");
    s.ip_shadow = config.get_bool("limits.ip.shadow");
    s.user_shadow = config.get_bool("limits.user.shadow");
    s.key_shadow = config.get_bool("limits.key.shadow");
    s.violations.threshold = at_least(config, "bans.auto.threshold", 0);
    s.violations.window_ms = config.get_duration_ms("bans.auto.window");
    if (s.violations.threshold > 0 && s.violations.window_ms <= 0) {
        bad_setting("bans.auto.window", "must be longer than 0 when bans.auto.threshold is set");
    }
    s.max_tracked = static_cast<std::size_t>(at_least(config, "limits.max_tracked", 64));
    s.on_failure = on_failure_from(config, "redis.on_failure");
    s.on_failure_api = on_failure_from(config, "redis.on_failure_api");
    return s;
}

BanSettings ban_settings_from_config(const Config& config) {
    BanSettings s;
    std::string_view list = config.get("bans.allow");
    while (!list.empty()) {
        const auto comma = list.find(',');
        const auto item = list.substr(0, comma);
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
        const auto b = item.find_first_not_of(' ');
        if (b == std::string_view::npos) {
            continue;
        }
        const auto trimmed = item.substr(b, item.find_last_not_of(' ') - b + 1);
        try {
            s.allow.push_back(parse_cidr(trimmed));
        } catch (const Error& e) {
            bad_setting("bans.allow", e.what());
        }
    }
    s.auto_duration_ms = config.get_duration_ms("bans.auto.duration");
    s.auto_factor = at_least(config, "bans.auto.factor", 1);
    s.auto_max_ms = config.get_duration_ms("bans.auto.max");
    s.retention_ms = config.get_duration_ms("bans.retention");
    if (s.auto_duration_ms <= 0) {
        bad_setting("bans.auto.duration", "must be longer than 0");
    }
    if (s.auto_max_ms < s.auto_duration_ms) {
        bad_setting("bans.auto.max", "must not be shorter than bans.auto.duration");
    }
    return s;
}

std::string canonical_id(Scope scope, std::string_view id) {
    if (scope == Scope::ip) {
        try {
            return to_string(parse_ip_strict(id));
        } catch (const Error& e) {
            throw Error(ErrorCode::invalid_argument, std::string("id: ") + e.what(),
                        {{"param", "id"}});
        }
    }
    if (id.empty() || id.size() > 200) {
        throw Error(ErrorCode::invalid_argument, "id: 1 to 200 characters", {{"param", "id"}});
    }
    for (unsigned char c : id) {
        if (c < 0x20 || c == 0x7F) {
            throw Error(ErrorCode::invalid_argument, "id: control characters are not allowed",
                        {{"param", "id"}});
        }
    }
    return std::string(id);
}

KeyLimitFacts key_limit_facts(store::Store& store, std::string_view key_id) {
    const auto row = store.transaction(
        [&](store::Connection& c) {
            const auto rows = c.query("SELECT rate_limit, identity_id FROM api_keys WHERE id = $1",
                                      {std::string(key_id)});
            return rows.empty() ? std::pair<std::optional<std::string>, std::string>()
                                : std::pair(rows.front().get_opt_text(0),
                                            rows.front().get_opt_text(1).value_or(""));
        },
        store::TxMode::read);
    KeyLimitFacts out{std::nullopt, row.second};
    if (!row.first || row.first->empty()) {
        return out;
    }
    try {
        out.own = parse_rate_limit(*row.first, "rate_limit");
    } catch (const Error& e) {
        log::get("limits")->warn("key {}: stored rate limit ignored: {}", key_id, e.what());
    }
    return out;
}

LimitService::LimitService(const Clock& clock, BanService& bans, LimitSettings settings,
                           redis::Client* redis)
    : LimitService(clock, bans, std::move(settings), LimitSources{.redis = redis}) {}

LimitService::LimitService(const Clock& clock, BanService& bans, LimitSettings settings,
                           LimitSources sources)
    : m_clock(clock),
      m_bans(bans),
      m_redis(sources.redis != nullptr ? std::make_unique<RedisLimiter>(*sources.redis) : nullptr),
      m_active(active_from(std::move(settings))) {
    for (auto& l : m_limiters) {
        l = std::make_unique<RateLimiter>(m_clock, m_active->settings.max_tracked);
    }
    m_buckets = std::make_unique<RateLimiter>(m_clock, m_active->settings.max_tracked);
    if (sources.store != nullptr && sources.follower != nullptr) {
        m_overrides = std::make_unique<OverrideService>(*sources.store, m_clock, *sources.follower);
    }
    if (!m_redis && sources.store != nullptr && sources.count_in_store) {
        m_store_limiter = std::make_unique<StoreLimiter>(*sources.store, m_clock);
    }
}

LimitService::Active LimitService::active_from(LimitSettings settings) const {
    Active a{std::move(settings), {}};
    if (m_redis) {
        // The script's arguments for each scope's policy, made once: checks
        // that share them share one argument group in a batch.
        for (const auto scope : {Scope::ip, Scope::user, Scope::key}) {
            if (const auto& policy = a.settings.policy(scope)) {
                a.scope_args[index(scope)] = std::make_shared<const std::vector<std::string>>(
                    gcra_args(*policy, RedisCall::k_cost, a.settings.violations, true));
            }
        }
    }
    return a;
}

void LimitService::reload(LimitSettings settings) {
    settings.max_tracked = m_active->settings.max_tracked;
    m_active.swap(active_from(std::move(settings)));
}

std::string LimitService::own_policy_name(Scope scope, std::string_view id) {
    return std::string(to_string(scope)) + ":" + std::string(id);
}

std::optional<AppliedPolicy> LimitService::own_policy(Scope scope, std::string_view id,
                                                      const std::optional<Policy>& own) const {
    if (!own) {
        return std::nullopt;
    }
    return AppliedPolicy{*own, own_policy_name(scope, id), false};
}

namespace {

// The name of a scope's own policy: short enough to need no allocation.
std::string scope_policy_name(Scope scope) {
    switch (scope) {
        case Scope::ip:
            return "scope:ip";
        case Scope::user:
            return "scope:user";
        case Scope::key:
            return "scope:key";
    }
    return "scope:ip";
}

OverrideScope override_scope(Scope scope) {
    switch (scope) {
        case Scope::ip:
            return OverrideScope::ip;
        case Scope::user:
            return OverrideScope::user;
        case Scope::key:
            return OverrideScope::key;
    }
    return OverrideScope::ip;
}

// A shadow policy never counts violations toward an automatic ban.
const ViolationRule k_no_violations{};

}  // namespace

std::optional<AppliedPolicy> LimitService::resolve_address(
    const IpAddress& address, const std::optional<AppliedPolicy>& own) const {
    if (own) {
        return own;
    }
    if (m_overrides) {
        if (auto o = m_overrides->match_address(address)) {
            return o;
        }
    }
    if (!m_active->settings.ip) {
        return std::nullopt;
    }
    return AppliedPolicy{*m_active->settings.ip, scope_policy_name(Scope::ip),
                         m_active->settings.ip_shadow};
}

std::optional<AppliedPolicy> LimitService::resolve_policy(
    Scope scope, std::string_view id, const std::optional<AppliedPolicy>& own) const {
    if (scope == Scope::ip) {
        return resolve_address(address_of(id), own);
    }
    if (own) {
        return own;
    }
    if (m_overrides) {
        if (auto o = m_overrides->match(override_scope(scope), id)) {
            return o;
        }
    }
    const auto& policy = m_active->settings.policy(scope);
    if (!policy) {
        return std::nullopt;
    }
    return AppliedPolicy{*policy, scope_policy_name(scope), m_active->settings.shadow(scope)};
}

std::string identity_counter(std::string_view identity) {
    return "identity:" + std::string(identity);
}

CallerLimit LimitService::caller_limit(Scope scope, std::string_view id,
                                       const std::optional<Policy>& own,
                                       std::string_view identity) const {
    if (scope == Scope::key && !own && !identity.empty() && m_overrides) {
        if (auto o = m_overrides->match(OverrideScope::identity, identity)) {
            return {identity_counter(identity), std::move(o)};
        }
    }
    return {std::string(id), resolve_policy(scope, id, own_policy(scope, id, own))};
}

std::optional<RedisCall> LimitService::caller_call(Scope scope, const CallerLimit& limit) const {
    if (!m_redis || scope == Scope::ip || !limit.policy) {
        return std::nullopt;
    }
    const auto& id = limit.id;
    const auto& applied = limit.policy;
    const bool scope_policy = applied->name == scope_policy_name(scope);
    auto args = scope_policy
                    ? m_active->scope_args[index(scope)]
                    : std::make_shared<const std::vector<std::string>>(gcra_args(
                          applied->policy, RedisCall::k_cost, m_active->settings.violations, true));
    return RedisCall{m_redis->key(scope, id), std::move(args), applied->policy};
}

std::optional<RedisCall> LimitService::address_call(const IpAddress& address) const {
    if (!m_redis) {
        return std::nullopt;
    }
    const auto applied = resolve_address(address, std::nullopt);
    if (!applied) {
        return std::nullopt;
    }
    auto args = applied->name == scope_policy_name(Scope::ip)
                    ? m_active->scope_args[index(Scope::ip)]
                    : std::make_shared<const std::vector<std::string>>(gcra_args(
                          applied->policy, RedisCall::k_cost, m_active->settings.violations, true));
    return RedisCall{m_redis->key(Scope::ip, to_string(address)), std::move(args), applied->policy};
}

LimitResult LimitService::check_redis(Scope scope, std::string_view id, const Policy& policy,
                                      std::int64_t cost, LimitUse use) {
    try {
        const auto key = m_redis->key(scope, id);
        if (cost == 1) {
            if (auto prepaid = PrepaidChecks::take(key, policy)) {
                return *prepaid;
            }
        }
        return m_redis->check(key, policy, cost, m_active->settings.violations);
    } catch (const Error& e) {
        if (e.code() != ErrorCode::unavailable) {
            throw;
        }
        const auto on_failure = use == LimitUse::api ? m_active->settings.on_failure_api
                                                     : m_active->settings.on_failure;
        // Not logged per request: the client logs the outage once, and
        // /metrics counts what each policy decided.
        if (on_failure == OnFailure::open) {
            m_failed_open.fetch_add(1, std::memory_order_relaxed);
            LimitResult r;
            r.degraded = true;
            return r;
        }
        m_failed_closed.fetch_add(1, std::memory_order_relaxed);
        throw Error(ErrorCode::unavailable,
                    "rate limits cannot be checked: Redis is unavailable (failing closed: "
                    "redis.on_failure" +
                        std::string(use == LimitUse::api ? "_api" : "") + " is closed)",
                    {{"redis", "unavailable"}, {"retry_after_ms", 1000}});
    }
}

RateLimiter& LimitService::limiter(Scope scope) const {
    return *m_limiters[index(scope)];
}

LimitResult LimitService::check(Scope scope, std::string_view id, std::int64_t cost,
                                const std::optional<Policy>& override, LimitUse use) {
    if (scope == Scope::ip) {
        return check_ip(address_of(id), cost, own_policy(scope, id, override), use);
    }
    return check_applied(scope, id, cost,
                         resolve_policy(scope, id, own_policy(scope, id, override)), use);
}

LimitResult LimitService::check_applied(Scope scope, std::string_view id, std::int64_t cost,
                                        const std::optional<AppliedPolicy>& applied, LimitUse use) {
    if (!applied) {
        return LimitResult{};
    }
    if (scope == Scope::ip) {
        return check_ip(address_of(id), cost, applied, use);
    }
    const auto& rule = applied->shadow ? k_no_violations : m_active->settings.violations;
    LimitResult r;
    if (m_redis) {
        r = check_redis(scope, id, applied->policy, cost, use);
    } else if (m_store_limiter) {
        r = m_store_limiter->check(to_string(scope), id, applied->policy, cost, rule);
    } else {
        r = limiter(scope).check(id, applied->policy, cost, rule);
    }
    return finish(scope, id, *applied, std::move(r));
}

LimitResult LimitService::check_address(const IpAddress& address, std::int64_t cost, LimitUse use) {
    return check_ip(address, cost, std::nullopt, use);
}

LimitResult LimitService::check_ip(const IpAddress& address, std::int64_t cost,
                                   const std::optional<AppliedPolicy>& own, LimitUse use) {
    const auto applied = resolve_address(address, own);
    if (!applied) {
        return LimitResult{};
    }
    const auto& rule = applied->shadow ? k_no_violations : m_active->settings.violations;
    LimitResult r;
    // In Redis and the database the canonical text is the key, readable by operators.
    if (m_redis) {
        r = check_redis(Scope::ip, to_string(address), applied->policy, cost, use);
    } else if (m_store_limiter) {
        r = m_store_limiter->check("ip", to_string(address), applied->policy, cost, rule);
    } else {
        r = limiter(Scope::ip).check(AddressKey(address).view(), applied->policy, cost, rule);
    }
    if (r.ban_due && !applied->shadow) {
        // Formatted only when banning.
        return finish(Scope::ip, to_string(address), *applied, std::move(r));
    }
    return finish(Scope::ip, {}, *applied, std::move(r));
}

LimitResult LimitService::finish(Scope scope, std::string_view id, const AppliedPolicy& policy,
                                 LimitResult r) {
    if (policy.shadow) {
        r.ban_due = false;
        if (!r.allowed && !r.degraded) {
            r.allowed = true;
            r.shadow_limited = true;
            r.retry_after_ms = 0;
            m_shadow.add(policy.name);
        }
    }
    if (r.ban_due) {
        ban_automatically(scope, id, policy.policy);
    }
    r.policy = policy.name;
    count_outcome(scope, r);
    return r;
}

void LimitService::ban_automatically(Scope scope, std::string_view id, const Policy& policy) {
    if (scope == Scope::key && id.starts_with("identity:")) {
        return;  // an identity's counter: no ban target names every key of an identity
    }
    try {
        const std::string prefix = scope == Scope::ip ? "" : std::string(to_string(scope)) + ":";
        const auto target = parse_target(prefix + std::string(id));
        const auto reason = "rate limit " + policy.rate_text() + " exceeded " +
                            std::to_string(m_active->settings.violations.threshold) +
                            " times within " +
                            format_duration(m_active->settings.violations.window_ms);
        if (auto ban = m_bans.auto_ban(target, reason)) {
            log::get("limits")->warn("ban.auto target={} until={} strikes={}", target.text(),
                                     format_rfc3339(ban->expires_at.value_or(0)), ban->strikes);
        }
    } catch (const std::exception& e) {
        log::get("limits")->error("automatic ban of {} {} not written: {}", to_string(scope), id,
                                  e.what());
    }
}

LimitResult LimitService::status(Scope scope, std::string_view id,
                                 const std::optional<Policy>& override) const {
    return status_applied(scope, id, resolve_policy(scope, id, own_policy(scope, id, override)));
}

LimitResult LimitService::status_applied(Scope scope, std::string_view id,
                                         const std::optional<AppliedPolicy>& applied) const {
    if (!applied) {
        return LimitResult{};
    }
    const auto key = scope == Scope::ip ? to_string(address_of(id)) : std::string(id);
    LimitResult r;
    if (m_redis) {
        r = m_redis->status(m_redis->key(scope, key), applied->policy);
    } else if (m_store_limiter) {
        r = m_store_limiter->status(to_string(scope), key, applied->policy);
    } else if (scope == Scope::ip) {
        r = limiter(scope).status(AddressKey(address_of(id)).view(), applied->policy);
    } else {
        r = limiter(scope).status(id, applied->policy);
    }
    if (applied->shadow && !r.allowed) {
        r.allowed = true;
        r.shadow_limited = true;
        r.retry_after_ms = 0;
    }
    r.policy = applied->name;
    return r;
}

bool LimitService::reset(Scope scope, std::string_view id) {
    if (m_redis) {
        const auto key = scope == Scope::ip ? to_string(address_of(id)) : std::string(id);
        return m_redis->reset(m_redis->key(scope, key));
    }
    if (m_store_limiter) {
        const auto key = scope == Scope::ip ? to_string(address_of(id)) : std::string(id);
        return m_store_limiter->reset(to_string(scope), key);
    }
    if (scope == Scope::ip) {
        return limiter(scope).reset(AddressKey(address_of(id)).view());
    }
    return limiter(scope).reset(id);
}

std::size_t LimitService::tracked() const {
    std::size_t n = 0;
    for (const auto& l : m_limiters) {
        n += l->tracked();
    }
    return n;
}

}  // namespace pb::limits
