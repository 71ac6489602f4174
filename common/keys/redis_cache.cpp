#include "common/keys/redis_cache.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "common/core/error.hpp"
#include "common/core/json_parse.hpp"
#include "common/core/log.hpp"
#include "common/redis/client.hpp"

namespace pb::keys {
namespace {

using nlohmann::json;

// Bumped when the entry's layout changes, so that daemons of two versions
// sharing a Redis read each other's entries as unreadable, never as wrong.
constexpr int k_entry_version = 3;  // 2: disabled, imported; 3: identity, named limits, refill
constexpr std::int64_t k_max_ttl_ms = 24LL * 3600 * 1000;

// Bound into the seal, so an entry cannot be moved to another key's name.
std::string seal_context(std::string_view id) {
    return "keys.redis_cache:" + std::string(id);
}

template <class T>
json opt(const std::optional<T>& v) {
    return v ? json(*v) : json(nullptr);
}

template <class T>
std::optional<T> opt_from(const json& j, const char* field) {
    const auto& v = j.at(field);
    return v.is_null() ? std::nullopt : std::optional<T>(v.get<T>());
}

std::string encode(const VersionedRecord& v, UnixMillis loaded_at) {
    const auto& k = v.record;
    return json{{"v", k_entry_version},
                {"seq", v.key_seq},
                {"at", loaded_at},
                {"key",
                 {{"id", k.id},
                  {"owner", k.owner},
                  {"name", k.name},
                  {"secret_hash", k.secret_hash},
                  {"prev_secret_hash", opt(k.prev_secret_hash)},
                  {"prev_expires_at", opt(k.prev_expires_at)},
                  {"permissions", k.permissions},
                  {"metadata", k.metadata},
                  {"created_at", k.created_at},
                  {"created_by", k.created_by},
                  {"updated_at", k.updated_at},
                  {"expires_at", opt(k.expires_at)},
                  {"remaining", opt(k.remaining)},
                  {"revoked_at", opt(k.revoked_at)},
                  {"last_used_at", opt(k.last_used_at)},
                  {"rate_limit", opt(k.rate_limit)},
                  {"disabled_at", opt(k.disabled_at)},
                  {"disabled_reason", k.disabled_reason},
                  {"imported", k.imported},
                  {"identity_id", opt(k.identity_id)},
                  {"limits", limits_json(k.limits)},
                  {"refill", k.refill ? json(k.refill->text()) : json(nullptr)},
                  {"last_refill_at", opt(k.last_refill_at)}}}}
        .dump();
}

struct Entry {
    VersionedRecord value;
    UnixMillis loaded_at = 0;
};

// nullopt for anything but a well-formed entry of this version for `id`,
// sealed under this master key.
std::optional<Entry> decode(const SecretBox& sealer, std::string_view sealed, std::string_view id) {
    std::string text;
    try {
        text = sealer.open_sealed(sealed, seal_context(id));
    } catch (const std::exception&) {
        return std::nullopt;
    }
    const auto j = parse_json_or_discarded(text, {k_max_stored_json_depth});
    if (j.is_discarded() || !j.is_object() || j.value("v", 0) != k_entry_version) {
        return std::nullopt;
    }
    try {
        Entry e;
        e.value.key_seq = j.at("seq").get<std::int64_t>();
        e.loaded_at = j.at("at").get<UnixMillis>();
        const auto& r = j.at("key");
        auto& k = e.value.record;
        k.id = r.at("id").get<std::string>();
        k.owner = r.at("owner").get<std::string>();
        k.name = r.at("name").get<std::string>();
        k.secret_hash = r.at("secret_hash").get<std::string>();
        k.prev_secret_hash = opt_from<std::string>(r, "prev_secret_hash");
        k.prev_expires_at = opt_from<UnixMillis>(r, "prev_expires_at");
        k.permissions = r.at("permissions").get<std::vector<std::string>>();
        k.metadata = r.at("metadata");
        k.created_at = r.at("created_at").get<UnixMillis>();
        k.created_by = r.at("created_by").get<std::string>();
        k.updated_at = r.at("updated_at").get<UnixMillis>();
        k.expires_at = opt_from<UnixMillis>(r, "expires_at");
        k.remaining = opt_from<std::int64_t>(r, "remaining");
        k.revoked_at = opt_from<UnixMillis>(r, "revoked_at");
        k.last_used_at = opt_from<UnixMillis>(r, "last_used_at");
        k.rate_limit = opt_from<std::string>(r, "rate_limit");
        k.disabled_at = opt_from<UnixMillis>(r, "disabled_at");
        k.disabled_reason = r.at("disabled_reason").get<std::string>();
        k.imported = r.at("imported").get<bool>();
        k.identity_id = opt_from<std::string>(r, "identity_id");
        k.limits = parse_named_limits(r.at("limits"), "limits");
        if (const auto refill = opt_from<std::string>(r, "refill")) {
            k.refill = parse_refill(*refill, "refill");
        }
        k.last_refill_at = opt_from<UnixMillis>(r, "last_refill_at");
        if (k.id != id || !k.metadata.is_object()) {
            return std::nullopt;
        }
        return e;
    } catch (const json::exception&) {
        return std::nullopt;
    } catch (const Error&) {
        return std::nullopt;  // limits or refill that do not parse
    }
}

}  // namespace

RedisKeyCache::RedisKeyCache(redis::Client& client, const Clock& clock, std::int64_t ttl_ms,
                             std::function<const SecretBox&()> open_box)
    : m_client(client),
      m_clock(clock),
      m_ttl_ms(ttl_ms),
      m_horizon_ms(2 * ttl_ms + k_clock_skew_ms),
      m_open_box(std::move(open_box)),
      // Changes committed before this process followed the outbox never reach
      // note_change(): entries loaded before now are not to be trusted.
      m_floor(clock.now()) {}

std::string RedisKeyCache::redis_key(std::string_view id) const {
    return m_client.key("key:" + std::string(id));
}

const SecretBox* RedisKeyCache::box() {
    std::call_once(m_box_once, [this] {
        try {
            m_box = &m_open_box();
        } catch (const std::exception& e) {
            log::get("keys")->warn(
                "API keys are not cached in Redis: no master key to seal them ({})", e.what());
        }
    });
    return m_box;
}

std::optional<KeyRecord> RedisKeyCache::get(std::string_view id, const Loader& load) {
    const auto* sealer = box();
    if (sealer == nullptr) {
        auto loaded = load(id);
        return loaded ? std::optional<KeyRecord>(std::move(loaded->record)) : std::nullopt;
    }
    const auto name = redis_key(id);
    bool reachable = true;
    bool had_entry = false;
    try {
        const auto reply = m_client.exec({"GET", name});
        if (reply.is_error()) {
            throw Error(ErrorCode::internal, reply.str);
        }
        if (reply.is_nil()) {
            m_misses.fetch_add(1, std::memory_order_relaxed);
        } else {
            had_entry = true;
            auto entry = decode(*sealer, reply.str, id);
            if (!entry) {
                m_errors.fetch_add(1, std::memory_order_relaxed);
            } else if (fresh(id, entry->value.key_seq, entry->loaded_at)) {
                m_hits.fetch_add(1, std::memory_order_relaxed);
                return std::move(entry->value.record);
            } else {
                m_stale.fetch_add(1, std::memory_order_relaxed);
            }
        }
    } catch (const std::exception&) {
        m_errors.fetch_add(1, std::memory_order_relaxed);
        reachable = false;  // and the write below would fail the same way
    }
    // Read before the database's snapshot, so that the entry's time is never
    // later than what it reflects.
    const auto loaded_at = m_clock.now();
    auto loaded = load(id);
    if (!reachable) {
        return loaded ? std::optional<KeyRecord>(std::move(loaded->record)) : std::nullopt;
    }
    if (!loaded) {
        if (had_entry) {
            invalidate(id);  // a deleted key's stale entry
        }
        return std::nullopt;
    }
    put(*sealer, *loaded, loaded_at);
    return std::move(loaded->record);
}

bool RedisKeyCache::fresh(std::string_view id, std::int64_t key_seq, UnixMillis loaded_at) const {
    std::lock_guard lock(m_mutex);
    if (const auto it = m_applied.find(std::string(id)); it != m_applied.end()) {
        return key_seq >= it->second.seq;
    }
    return loaded_at >= m_floor + k_clock_skew_ms;
}

void RedisKeyCache::put(const SecretBox& sealer, const VersionedRecord& v, UnixMillis loaded_at) {
    // The entry dies a ttl after its load, not after a slow write.
    const auto ttl = m_ttl_ms - std::max<std::int64_t>(0, m_clock.now() - loaded_at);
    if (ttl <= 0) {
        return;
    }
    try {
        const auto ms = std::to_string(ttl);
        const auto sealed = sealer.seal(encode(v, loaded_at), seal_context(v.record.id));
        const auto reply = m_client.exec({"SET", redis_key(v.record.id), sealed, "PX", ms});
        if (reply.is_error()) {
            m_errors.fetch_add(1, std::memory_order_relaxed);
        }
    } catch (const std::exception&) {
        m_errors.fetch_add(1, std::memory_order_relaxed);
    }
}

void RedisKeyCache::invalidate(std::string_view id) noexcept {
    try {
        if (m_client.exec({"DEL", redis_key(id)}).is_error()) {
            m_errors.fetch_add(1, std::memory_order_relaxed);
        }
    } catch (...) {
        m_errors.fetch_add(1, std::memory_order_relaxed);
    }
}

void RedisKeyCache::note_change(std::string_view id, std::int64_t seq) {
    std::lock_guard lock(m_mutex);
    const auto now = m_clock.now();
    auto& applied = m_applied[std::string(id)];
    applied.seq = std::max(applied.seq, seq);
    applied.at = now;
    m_order.emplace_back(now, std::string(id));
    evict(now);
}

void RedisKeyCache::evict(UnixMillis now) {
    while (!m_order.empty()) {
        const auto& [at, id] = m_order.front();
        const bool old = at + m_horizon_ms <= now;
        const bool full = m_applied.size() > k_max_tracked || m_order.size() > 2 * k_max_tracked;
        if (!old && !full) {
            return;
        }
        // Only the key's latest noting drops it; earlier ones were superseded.
        if (const auto it = m_applied.find(id); it != m_applied.end() && it->second.at == at) {
            m_floor = std::max(m_floor, at);
            m_applied.erase(it);
        }
        m_order.pop_front();
    }
}

std::size_t RedisKeyCache::tracked() const {
    std::lock_guard lock(m_mutex);
    return m_applied.size();
}

std::unique_ptr<RedisKeyCache> make_redis_key_cache(redis::Client* client, store::Dialect dialect,
                                                    const Config& config, const Clock& clock,
                                                    std::function<const SecretBox&()> open_box) {
    const auto ttl = config.get_duration_ms("redis.key_cache_ttl");
    if (ttl > k_max_ttl_ms) {
        throw Error(ErrorCode::invalid_argument, "redis.key_cache_ttl: at most 1d",
                    {{"key", "redis.key_cache_ttl"}});
    }
    if (client == nullptr || ttl == 0 || dialect == store::Dialect::sqlite) {
        return nullptr;
    }
    return std::make_unique<RedisKeyCache>(*client, clock, ttl, std::move(open_box));
}

}  // namespace pb::keys
