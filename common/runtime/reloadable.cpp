#include "common/runtime/reloadable.hpp"

#include <algorithm>
#include <array>

#include <spdlog/common.h>

#include "common/core/error.hpp"
#include "common/ops/schema.hpp"

namespace pb::runtime {
namespace {

using nlohmann::json;

// The settings a reload applies (see ReloadableSettings, and events.retention
// which pbd's hub applies); a pattern ending with '.' or '_' is a prefix.
// Not here: limits.max_tracked (it sizes the limiters), tokens.issuer
// (trusted issuers are checked against it), tokens.hmac_* (the key ring).
constexpr auto k_reloadable = std::to_array<std::string_view>({
    "limits.ip.",
    "limits.user.",
    "limits.key.",
    "limits.algorithm",
    "bans.",
    "redis.on_failure",
    "redis.on_failure_api",
    "server.trusted_proxies",
    "log.level",
    "log.format",
    "actions.",
    "events.retention",
    "tokens.access_ttl",
    "tokens.refresh_ttl",
    "tokens.leeway",
    "tokens.max_size",
    "tokens.default_alg",
    "tokens.daemon_audience",
    "tokens.jwks_",
});

// What log::init() accepts, checked without applying it (init() would).
void check_log_settings(const Config& config) {
    const auto& level = config.get("log.level");
    if (spdlog::level::from_str(level) == spdlog::level::off && level != "off") {
        throw Error(
            ErrorCode::invalid_argument,
            "log.level: expected trace, debug, info, warn, error or off, got \"" + level + "\"",
            {{"key", "log.level"}});
    }
    const auto& format = config.get("log.format");
    if (format != "text" && format != "json" && format != "auto") {
        throw Error(ErrorCode::invalid_argument,
                    "log.format: expected text, json or auto, got \"" + format + "\"",
                    {{"key", "log.format"}});
    }
}

bool matches(std::string_view key, std::string_view pattern) {
    return pattern.ends_with('.') || pattern.ends_with('_') ? key.starts_with(pattern)
                                                            : key == pattern;
}

}  // namespace

tokens::TokenSettings token_settings_from_config(const Config& config) {
    tokens::TokenSettings ts;
    ts.issuer = config.get("tokens.issuer");
    ts.access_ttl_ms = config.get_duration_ms("tokens.access_ttl");
    ts.refresh_ttl_ms = config.get_duration_ms("tokens.refresh_ttl");
    ts.leeway_ms = config.get_duration_ms("tokens.leeway");
    ts.max_size = static_cast<std::size_t>(config.get_int("tokens.max_size"));
    ts.daemon_audience = config.get("tokens.daemon_audience");
    ts.jwks.min_refresh_ms = config.get_duration_ms("tokens.jwks_min_refresh");
    ts.jwks.cache_ttl_ms = config.get_duration_ms("tokens.jwks_cache_ttl");
    ts.jwks.max_stale_ms = config.get_duration_ms("tokens.jwks_max_stale");
    ts.jwks.timeout_ms = std::max<std::int64_t>(config.get_duration_ms("tokens.jwks_timeout"), 1);
    const auto alg = tokens::alg_from_string(config.get("tokens.default_alg"));
    if (!alg) {
        throw Error(
            ErrorCode::invalid_argument,
            "tokens.default_alg: unknown algorithm \"" + config.get("tokens.default_alg") + "\"",
            {{"key", "tokens.default_alg"}});
    }
    ts.default_alg = *alg;
    return ts;
}

ReloadableSettings read_reloadable(const Config& config) {
    check_log_settings(config);
    ReloadableSettings s;
    s.limits = limits::limit_settings_from_config(config);
    s.bans = limits::ban_settings_from_config(config);
    try {
        s.proxies.emplace(config.get("server.trusted_proxies"));
    } catch (const Error& e) {
        throw Error(ErrorCode::invalid_argument, std::string("server.trusted_proxies: ") + e.what(),
                    {{"key", "server.trusted_proxies"}});
    }
    s.tokens = token_settings_from_config(config);
    s.actions = actions::catalog_settings_from_config(config);
    return s;
}

OnChange on_change(std::string_view key) {
    const auto* spec = find_config_key(key);
    if (spec != nullptr && spec->scope == ConfigScope::cli) {
        return OnChange::ignored;
    }
    return std::any_of(k_reloadable.begin(), k_reloadable.end(),
                       [&](std::string_view p) { return matches(key, p); })
               ? OnChange::reload
               : OnChange::restart;
}

ReloadReport compare(const Config& before, const Config& after) {
    ReloadReport r;
    r.file = after.file();
    for (const auto& k : config_keys()) {
        if (before.get(k.key) == after.get(k.key)) {
            continue;
        }
        switch (on_change(k.key)) {
            case OnChange::reload:
                r.changed.emplace_back(k.key);
                break;
            case OnChange::restart:
                r.restart_required.emplace_back(k.key);
                break;
            case OnChange::ignored:
                break;
        }
    }
    return r;
}

json ReloadReport::to_json() const {
    return {{"changed", changed},
            {"restart_required", restart_required},
            {"file", file ? json(*file) : json(nullptr)}};
}

json ReloadReport::schema() {
    using namespace ops::schema;
    return named(
        "ReloadReport",
        object({{"changed", array(string(), "The settings that changed and are now in force")},
                {"restart_required",
                 array(string(),
                       "The settings that changed but take effect at the next start "
                       "(server.listen, db.url, …)")},
                {"file", nullable(string("The configuration file read, if any"))}}));
}

}  // namespace pb::runtime
