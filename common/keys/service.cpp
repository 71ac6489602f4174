#include "common/keys/service.hpp"

#include <algorithm>
#include <cctype>
#include <map>

#include "common/core/crypto.hpp"
#include "common/core/error.hpp"
#include "common/core/json_parse.hpp"
#include "common/core/rate.hpp"
#include "common/core/time_format.hpp"
#include "common/events/outbox.hpp"
#include "common/keys/format.hpp"
#include "common/keys/identity_service.hpp"
#include "common/keys/imported_keys.hpp"
#include "common/keys/redact.hpp"
#include "common/keys/redis_cache.hpp"
#include "common/ops/schema.hpp"
#include "common/store/keyset.hpp"

namespace pb::keys {
namespace {

using nlohmann::json;
using store::Connection;
using store::nullable;

enum class Required { no, yes };

constexpr std::string_view k_columns =
    "id, owner, name, secret_hash, prev_secret_hash, prev_expires_at, permissions, metadata, "
    "created_at, created_by, updated_at, expires_at, remaining, revoked_at, last_used_at, "
    "rate_limit, identity_id, limits, refill, last_refill_at, disabled_at, disabled_reason, "
    "imported_key_id";
// A key's row and what migration 10 keeps beside it (its column names are
// unique, so k_columns and the status conditions need no table names).
constexpr std::string_view k_from =
    " FROM api_keys LEFT JOIN api_key_disabled ON disabled_key_id = id LEFT JOIN api_key_imports "
    "ON imported_key_id = id";
// The text of a key pb did not make is hashed only up to this length.
constexpr std::size_t k_max_imported_key_length = 1024;

KeyRecord from_row(const store::Row& r) {
    KeyRecord k;
    k.id = r.get_text(0);
    k.owner = r.get_text(1);
    k.name = r.get_text(2);
    k.secret_hash = r.get_text(3);
    k.prev_secret_hash = r.get_opt_text(4);
    k.prev_expires_at = r.get_opt_int(5);
    k.permissions = parse_json(r.get_text(6), "stored key permissions", {k_max_stored_json_depth})
                        .get<std::vector<std::string>>();
    k.metadata = parse_json(r.get_text(7), "stored key metadata", {k_max_stored_json_depth});
    k.created_at = r.get_int(8);
    k.created_by = r.get_text(9);
    k.updated_at = r.get_int(10);
    k.expires_at = r.get_opt_int(11);
    k.remaining = r.get_opt_int(12);
    k.revoked_at = r.get_opt_int(13);
    k.last_used_at = r.get_opt_int(14);
    k.rate_limit = r.get_opt_text(15);
    k.identity_id = r.get_opt_text(16);
    if (const auto limits = r.get_opt_text(17)) {
        k.limits = limits_from_stored(*limits);
    }
    if (const auto refill = r.get_opt_text(18)) {
        k.refill = parse_refill(*refill, "refill");
    }
    k.last_refill_at = r.get_opt_int(19);
    k.disabled_at = r.get_opt_int(20);
    k.disabled_reason = r.get_opt_text(21).value_or("");
    k.imported = !r.is_null(22);
    return k;
}

std::optional<KeyRecord> load(Connection& c, std::string_view id) {
    const auto rows =
        c.query("SELECT " + std::string(k_columns) + std::string(k_from) + " WHERE id = $1",
                {std::string(id)});
    if (rows.empty()) {
        return std::nullopt;
    }
    return from_row(rows.front());
}

// The record and the newest seq of its topic, in one statement: one snapshot
// on PostgreSQL too, so the seq vouches for every change the row reflects.
std::optional<VersionedRecord> load_versioned(Connection& c, std::string_view id) {
    const auto rows = c.query("SELECT " + std::string(k_columns) +
                                  ", (SELECT COALESCE(MAX(seq), 0) FROM events WHERE topic = $2)" +
                                  std::string(k_from) + " WHERE id = $1",
                              {std::string(id), "keys/" + std::string(id)});
    if (rows.empty()) {
        return std::nullopt;
    }
    return VersionedRecord{from_row(rows.front()), rows.front().get_int(23)};
}

KeyRecord load_or_throw(Connection& c, std::string_view id) {
    auto k = load(c, id);
    if (!k) {
        // What is no key id may be another system's whole key: not echoed.
        const auto shown = redact_key_id(id);
        throw Error(ErrorCode::not_found, "no API key with id \"" + shown + "\"", {{"id", shown}});
    }
    return std::move(*k);
}

void check_text(std::string_view what, std::string_view value, Required required) {
    if (required == Required::yes && value.empty()) {
        throw Error(ErrorCode::invalid_argument, std::string(what) + " must not be empty",
                    {{"param", what}});
    }
    if (value.size() > 200) {
        throw Error(ErrorCode::invalid_argument, std::string(what) + ": at most 200 characters",
                    {{"param", what}});
    }
    for (unsigned char c : value) {
        if (c < 0x20 || c == 0x7F) {
            throw Error(ErrorCode::invalid_argument,
                        std::string(what) + ": control characters are not allowed",
                        {{"param", what}});
        }
    }
}

// Permissions read "<group>:<action>" (e.g. deploy:write, keys:*), or "admin", "*".
void check_permissions(const std::vector<std::string>& perms) {
    for (const auto& p : perms) {
        const bool ok = !p.empty() && p.size() <= 100 &&
                        std::all_of(p.begin(), p.end(),
                                    [](unsigned char c) {
                                        return std::isalnum(c) || c == ':' || c == '_' ||
                                               c == '-' || c == '.' || c == '*';
                                    }) &&
                        p.front() != ':' && p.back() != ':';
        if (!ok) {
            throw Error(ErrorCode::invalid_argument,
                        "permissions: \"" + p +
                            "\" is not a permission (letters, digits, and : _ - . * only)",
                        {{"param", "permissions"}});
        }
    }
}

void check_metadata(const json& metadata) {
    if (!metadata.is_object() || metadata.dump().size() > 16384) {
        throw Error(ErrorCode::invalid_argument, "metadata: expected a JSON object under 16 KiB",
                    {{"param", "metadata"}});
    }
}

// A per-key rate limit must parse now, not when the daemon first applies it;
// "off" means the key has none of its own.
std::optional<std::string> checked_rate_limit(const std::optional<std::string>& text) {
    if (!text || !parse_rate_limit(*text, "rate_limit")) {
        return std::nullopt;
    }
    return text;
}

void check_expiry(const std::optional<UnixMillis>& expires_at, UnixMillis now) {
    if (expires_at && *expires_at <= now) {
        throw Error(ErrorCode::invalid_argument, "expires: must be in the future",
                    {{"param", "expires"}});
    }
}

// A disabled admin key still counts as the operator's: enabling it again
// (pbctl on the database) is the way back, not a new bootstrap key.
std::optional<std::string> stored_or_null(const std::vector<NamedLimit>& limits) {
    return limits.empty() ? std::nullopt : std::optional(stored_limits(limits));
}

std::optional<std::string> refill_text(const std::optional<Refill>& r) {
    return r ? std::optional(r->text()) : std::nullopt;
}

// Thrown inside a spend's transaction to roll back what it spent already.
struct Exhausted {};

// Refills the credits of `table`'s row `id` when a period of `refill` began
// since its last refill (the condition makes it once per period whoever
// asks), then spends one: what is left (nullopt: unlimited), or Exhausted.
enum class CreditTable { keys, identities };

std::optional<std::int64_t> spend_credit(Connection& c, CreditTable table, const std::string& id,
                                         const std::optional<Refill>& refill, UnixMillis now) {
    const bool keys = table == CreditTable::keys;
    if (refill) {
        c.exec(keys ? "UPDATE api_keys SET remaining = $2, last_refill_at = $3 WHERE id = $1 AND "
                      "remaining IS NOT NULL AND (last_refill_at IS NULL OR last_refill_at < $4)"
                    : "UPDATE identities SET remaining = $2, last_refill_at = $3 WHERE id = $1 "
                      "AND remaining IS NOT NULL AND (last_refill_at IS NULL OR last_refill_at < "
                      "$4)",
               {id, refill->amount, now, refill->period_start(now)});
    }
    const auto rows = c.query(
        keys ? "UPDATE api_keys SET remaining = remaining - 1 WHERE id = $1 AND (remaining IS NULL "
               "OR remaining > 0) RETURNING remaining"
             : "UPDATE identities SET remaining = remaining - 1 WHERE id = $1 AND (remaining IS "
               "NULL OR remaining > 0) RETURNING remaining",
        {id});
    if (rows.empty()) {
        throw Exhausted{};
    }
    return rows.front().get_opt_int(0);
}

// Whether credits known to be `remaining` (cached: perhaps above the stored
// count, never below, until a refill) may be spent at `now`.
bool may_spend(const std::optional<std::int64_t>& remaining, const std::optional<Refill>& refill,
               const std::optional<UnixMillis>& last_refill_at, UnixMillis now) {
    return !remaining || *remaining > 0 || (refill && refill->due(last_refill_at, now));
}

bool any_active_admin(Connection& c, UnixMillis now) {
    const auto rows = c.query(
        "SELECT permissions FROM api_keys WHERE revoked_at IS NULL AND (expires_at IS NULL OR "
        "expires_at > $1) AND (remaining IS NULL OR remaining > 0)",
        {now});
    for (const auto& r : rows) {
        const auto perms =
            parse_json(r.get_text(0), "stored key permissions", {k_max_stored_json_depth});
        if (std::find(perms.begin(), perms.end(), "admin") != perms.end()) {
            return true;
        }
    }
    return false;
}

}  // namespace

void check_new_key(const NewKey& request, UnixMillis now) {
    check_text("owner", request.owner, Required::yes);
    check_text("name", request.name, Required::no);
    check_permissions(request.permissions);
    check_metadata(request.metadata);
    check_expiry(request.expires_at, now);
    if (request.remaining && *request.remaining < 1) {
        throw Error(ErrorCode::invalid_argument, "remaining: must be at least 1",
                    {{"param", "remaining"}});
    }
}

std::string KeyRecord::status(UnixMillis now) const {
    if (revoked_at) {
        return "revoked";
    }
    if (disabled_at) {
        return "disabled";
    }
    if (expires_at && *expires_at <= now) {
        return "expired";
    }
    if (remaining && *remaining <= 0) {
        return "exhausted";
    }
    return "active";
}

json KeyRecord::to_json(UnixMillis now) const {
    return {{"id", id},
            {"owner", owner},
            {"name", name},
            {"permissions", permissions},
            {"metadata", metadata},
            {"status", status(now)},
            {"created_at", format_rfc3339(created_at)},
            {"created_by", created_by},
            {"bootstrap", created_by == k_bootstrap_actor},
            {"updated_at", format_rfc3339(updated_at)},
            {"expires_at", time_or_null(expires_at)},
            {"remaining", remaining ? json(*remaining) : json(nullptr)},
            {"revoked_at", time_or_null(revoked_at)},
            {"last_used_at", time_or_null(last_used_at)},
            {"rate_limit", rate_limit ? json(*rate_limit) : json(nullptr)},
            {"disabled_at", time_or_null(disabled_at)},
            {"disabled_reason", disabled_at ? json(disabled_reason) : json(nullptr)},
            {"imported", imported},
            {"identity", identity_id ? json(*identity_id) : json(nullptr)},
            {"limits", limits_json(limits)},
            {"refill", refill ? json(refill->text()) : json(nullptr)},
            {"last_refill_at", time_or_null(last_refill_at)},
            {"previous_secret_valid_until", prev_expires_at && *prev_expires_at > now
                                                ? json(format_rfc3339(*prev_expires_at))
                                                : json(nullptr)}};
}

json KeyRecord::schema() {
    using namespace ops::schema;
    using ops::schema::nullable;  // not store::nullable
    return named(
        "ApiKey",
        object({{"id", string("The key's public id (pb_<id>_…)")},
                {"owner", string()},
                {"name", string()},
                {"permissions", array(string())},
                {"metadata", free_object()},
                {"status", choice({"active", "revoked", "disabled", "expired", "exhausted"})},
                {"created_at", time()},
                {"created_by", string()},
                {"bootstrap", boolean("Made by pbd's first start")},
                {"updated_at", time()},
                {"expires_at", nullable(time())},
                {"remaining", nullable(integer("Verifications left"))},
                {"revoked_at", nullable(time())},
                {"last_used_at", nullable(time())},
                {"rate_limit", nullable(string("RATE[,BURST]"))},
                {"identity", nullable(string("The identity it shares limits and "
                                             "credits with"))},
                {"limits", array(NamedLimit::schema())},
                {"refill", nullable(string("N/day, N/month or N/month@DAY"))},
                {"last_refill_at", nullable(time())},
                {"disabled_at", nullable(time("Until keys.enable"))},
                {"disabled_reason", nullable(string("Why, as keys.disable was told"))},
                {"imported", boolean("Moved in from another system by its hash")},
                {"previous_secret_valid_until", nullable(time())}}));
}

json VerifyResult::schema() {
    using namespace ops::schema;
    using ops::schema::nullable;  // not store::nullable
    return named(
        "KeyVerdict",
        object(
            {{"valid", boolean()},
             {"reason", optional(choice({"malformed", "unknown", "revoked", "disabled", "expired",
                                         "exhausted", "banned", "rate_limited"},
                                        "Why a key is not valid"))},
             {"retry_after_ms", optional(integer())},
             {"limit", optional(string("The named limit that refused"))},
             {"identity", optional(object({{"id", string()},
                                           {"metadata", free_object()},
                                           {"remaining", nullable(integer("Its credits left"))}}))},
             {"limits", optional(array(object({{"name", string()},
                                               {"allowed", boolean()},
                                               {"shadow", boolean()},
                                               {"limit", integer("The burst")},
                                               {"remaining", integer()},
                                               {"reset_after_ms", integer()},
                                               {"retry_after_ms", integer()}})))},
             {"shadow_limited", optional(array(string("Shadow limits this verify went over")))},
             {"id", optional(string())},
             {"owner", optional(string())},
             {"name", optional(string())},
             {"permissions", optional(array(string()))},
             {"metadata", optional(free_object())},
             {"expires_at", optional(nullable(time()))},
             {"remaining", optional(nullable(integer()))}}));
}

json VerifyResult::to_json(UnixMillis) const {
    if (!valid) {
        return {{"valid", false}, {"reason", reason}};
    }
    return {{"valid", true},
            {"id", key->id},
            {"owner", key->owner},
            {"name", key->name},
            {"permissions", key->permissions},
            {"metadata", key->metadata},
            {"expires_at", time_or_null(key->expires_at)},
            {"remaining", remaining ? json(*remaining) : json(nullptr)}};
}

json VerifyResult::identity_json() const {
    if (!identity) {
        return nullptr;
    }
    return {{"id", identity->id},
            {"metadata", identity->metadata},
            {"remaining", identity_remaining ? json(*identity_remaining) : json(nullptr)}};
}

KeyService::KeyService(store::Store& store, const Clock& clock, events::Follower& follower)
    : KeyService(store, clock, follower, nullptr) {}

KeyService::KeyService(store::Store& store, const Clock& clock)
    : KeyService(store, clock, std::unique_ptr<RedisKeyCache>()) {}

KeyService::KeyService(store::Store& store, const Clock& clock, events::Follower& follower,
                       std::unique_ptr<RedisKeyCache> redis_cache)
    : m_store(store),
      m_clock(clock),
      m_redis_cache(std::move(redis_cache)),
      m_follower(follower),
      m_imported(std::make_unique<ImportedKeys>(store)) {
    follow();
}

KeyService::KeyService(store::Store& store, const Clock& clock,
                       std::unique_ptr<RedisKeyCache> redis_cache)
    : m_store(store),
      m_clock(clock),
      m_redis_cache(std::move(redis_cache)),
      m_own_follower(std::make_unique<events::Follower>(store)),
      m_follower(*m_own_follower),
      m_imported(std::make_unique<ImportedKeys>(store)) {
    follow();
}

KeyService::~KeyService() = default;

void KeyService::follow() {
    m_identities = std::make_unique<IdentityService>(m_store, m_clock, *this);
    m_follower.on("keys/", [this](const events::Event& e) {
        const auto id = std::string_view(e.topic).substr(5);
        // Redis's entries are judged by the seq first: a reader that misses
        // the in-memory index after forget() must find the seq noted.
        if (m_redis_cache) {
            m_redis_cache->note_change(id, e.seq);
        }
        forget(id);
        if (e.type == "key.imported") {
            m_imported->note_imported();
        } else if (e.type == "key.deleted") {
            m_imported->note_removed(id);
        }
    });
    m_follower.on("identities/", [this](const events::Event& e) {
        forget_identity(std::string_view(e.topic).substr(11));
    });
}

void KeyService::publish(Connection& c, const KeyRecord& k, std::string_view type) {
    const std::string topic = "keys/" + k.id;
    events::append(c, topic, type,
                   {{"id", k.id}, {"owner", k.owner}, {"status", k.status(m_clock.now())}},
                   m_clock.now());
    if (!m_redis_cache) {
        return;
    }
    // Our own change must be noted before the caller's forget(), not when the
    // follower reads it back (on PostgreSQL that waits for a NOTIFY). The row
    // lock this transaction holds makes its event the key's newest.
    const auto seq =
        c.query("SELECT MAX(seq) FROM events WHERE topic = $1", {topic}).front().get_int(0);
    c.after_commit([cache = m_redis_cache.get(), id = k.id, seq] {
        cache->note_change(id, seq);
        cache->invalidate(id);
    });
}

CreatedKey KeyService::create(const NewKey& request, std::string_view actor) {
    const auto now = m_clock.now();
    check_new_key(request, now);
    auto created = new_record(request, actor, now);
    m_store.transaction([&](Connection& c) {
        if (created.record.identity_id) {
            identity_rows::load_or_throw(c, *created.record.identity_id);
        }
        insert(c, created.record);
    });
    return created;
}

CreatedKey KeyService::new_record(const NewKey& request, std::string_view actor, UnixMillis now) {
    std::string text;
    auto k = record_of(request, actor, now, [&](std::string_view id) {
        text = make_key(id);
        return hash_key(text);
    });
    return {std::move(k), std::move(text)};
}

KeyRecord KeyService::record_of(const NewKey& request, std::string_view actor, UnixMillis now,
                                const std::function<std::string(std::string_view id)>& hash_of) {
    KeyRecord k;
    k.id = new_key_id();
    k.secret_hash = hash_of(k.id);
    k.owner = request.owner;
    k.name = request.name;
    k.permissions = request.permissions;
    k.metadata = request.metadata;
    k.created_at = k.updated_at = now;
    k.created_by = std::string(actor);
    k.expires_at = request.expires_at;
    k.remaining = request.remaining;
    k.rate_limit = checked_rate_limit(request.rate_limit);
    k.identity_id = request.identity_id;
    if (k.identity_id) {
        check_identity_id(*k.identity_id);
    }
    k.limits = parse_named_limits(request.limits, "limits");
    k.refill = request.refill ? parse_refill(*request.refill, "refill") : std::nullopt;
    if (k.refill) {
        // No count to start from: it starts full; the first refill is next period's.
        if (!k.remaining) {
            k.remaining = k.refill->amount;
        }
        k.last_refill_at = now;
    }
    return k;
}

void KeyService::insert(Connection& c, const KeyRecord& k, std::string_view event) {
    c.exec(
        "INSERT INTO api_keys (id, owner, name, secret_hash, permissions, metadata, "
        "created_at, created_by, updated_at, expires_at, remaining, rate_limit, identity_id, "
        "limits, refill, last_refill_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
        "$12, $13, $14, $15, $16)",
        {k.id, k.owner, k.name, k.secret_hash, json(k.permissions).dump(), k.metadata.dump(),
         k.created_at, k.created_by, k.updated_at, nullable(k.expires_at), nullable(k.remaining),
         nullable(k.rate_limit), nullable(k.identity_id), nullable(stored_or_null(k.limits)),
         nullable(refill_text(k.refill)), nullable(k.last_refill_at)});
    publish(c, k, event);
}

std::optional<CreatedKey> KeyService::create_first_admin(
    const std::function<void(const CreatedKey&)>& before_commit) {
    const auto now = m_clock.now();
    auto created =
        new_record(NewKey{.owner = "bootstrap", .name = "admin", .permissions = {"admin"}},
                   k_bootstrap_actor, now);
    // Check and insert in one serializable transaction: of two daemons starting
    // on a fresh database, the second sees the first's key and makes none.
    const auto check_and_insert = [&](Connection& c) {
        if (any_active_admin(c, now)) {
            return false;
        }
        insert(c, created.record);
        if (before_commit) {
            before_commit(created);
        }
        return true;
    };
    const bool made = m_store.transaction(check_and_insert, store::TxMode::serializable);
    if (!made) {
        return std::nullopt;
    }
    return created;
}

void KeyService::forget(std::string_view id) {
    std::unique_lock lock(m_cache_mutex);
    m_generation.fetch_add(1, std::memory_order_acq_rel);
    m_cache.erase(std::string(id));
}

std::optional<KeyRecord> KeyService::load_record(std::string_view id) {
    if (!m_redis_cache) {
        return m_store.transaction([&](Connection& c) { return load(c, id); }, store::TxMode::read);
    }
    return m_redis_cache->get(id, [this](std::string_view key_id) {
        return m_store.transaction([&](Connection& c) { return load_versioned(c, key_id); },
                                   store::TxMode::read);
    });
}

std::shared_ptr<const KeyRecord> KeyService::cached(std::string_view id) {
    {
        std::shared_lock lock(m_cache_mutex);
        if (auto it = m_cache.find(std::string(id)); it != m_cache.end()) {
            return it->second;
        }
    }
    const auto generation = m_generation.load(std::memory_order_acquire);
    auto loaded = load_record(id);
    if (!loaded) {
        return nullptr;
    }
    auto record = std::make_shared<const KeyRecord>(std::move(*loaded));
    std::unique_lock lock(m_cache_mutex);
    if (m_generation.load(std::memory_order_acquire) != generation) {
        return record;  // something changed while loading: answer, but do not cache
    }
    if (m_cache.size() > 500'000) {
        m_cache.clear();  // a crude bound; keys are reloaded on demand
    }
    m_cache[record->id] = record;
    return record;
}

VerifyResult KeyService::verify(std::string_view key) {
    auto out = check(key);
    if (out.valid) {
        spend(out);
    }
    return out;
}

VerifyResult KeyService::check(std::string_view key) {
    VerifyResult out;
    std::string hash;
    std::shared_ptr<const KeyRecord> record;
    if (const auto parsed = parse_key(key)) {
        m_follower.catch_up();
        record = cached(parsed->id);
        if (!record) {
            out.reason = "unknown";
            return out;
        }
        hash = hash_key(key);
    } else {
        record = imported_record(key, hash, out.reason);
        if (!record) {
            return out;
        }
    }
    const auto now = m_clock.now();
    const bool current = crypto::constant_time_equal(hash, record->secret_hash);
    const bool previous = !current && record->prev_secret_hash && record->prev_expires_at &&
                          *record->prev_expires_at > now &&
                          crypto::constant_time_equal(hash, *record->prev_secret_hash);
    if (!current && !previous) {
        out.reason = "unknown";
        return out;
    }
    if (record->revoked_at) {
        out.reason = "revoked";
        return out;
    }
    if (record->disabled_at) {
        out.reason = "disabled";
        return out;
    }
    if (record->expires_at && *record->expires_at <= now) {
        out.reason = "expired";
        return out;
    }
    // Spends are not events, so a cached count may be above the stored one,
    // never below: a cached 0 is a stored 0.
    if (!may_spend(record->remaining, record->refill, record->last_refill_at, now)) {
        out.reason = "exhausted";
        return out;
    }
    if (record->identity_id) {
        out.identity = identity(*record->identity_id);
        const auto& i = out.identity;
        if (i && !may_spend(i->remaining, i->refill, i->last_refill_at, now)) {
            out.reason = "exhausted";
            return out;
        }
        if (i) {
            out.identity_remaining = i->remaining;
        }
    }
    out.valid_until = record->expires_at;
    if (previous && (!out.valid_until || *record->prev_expires_at < *out.valid_until)) {
        out.valid_until = record->prev_expires_at;
    }
    out.valid = true;
    out.key = std::move(record);
    return out;
}

std::shared_ptr<const KeyRecord> KeyService::imported_record(std::string_view key,
                                                             std::string& hash,
                                                             std::string& reason) {
    // Not pb's format: another system's key, if any were imported. While none
    // were, this answers as before any existed, without a lookup.
    if (key.empty() || key.size() > k_max_imported_key_length) {
        reason = "malformed";
        return nullptr;
    }
    m_follower.catch_up();
    if (!m_imported->any()) {
        reason = "malformed";
        return nullptr;
    }
    hash = hash_key(key);
    const auto id = m_imported->find(hash);
    auto record = id ? cached(*id) : nullptr;
    if (!record) {
        reason = "unknown";
    }
    return record;
}

bool KeyService::has_imported_keys() {
    m_follower.catch_up();
    return m_imported->any();
}

bool KeyService::spend(VerifyResult& checked) {
    if (!checked.valid || !checked.key) {
        return false;
    }
    const auto& record = *checked.key;
    const auto* identity = checked.identity.get();
    const bool identity_counts = identity != nullptr && (identity->remaining || identity->refill);
    if (record.remaining || record.refill || identity_counts) {
        // The key's credits and its identity's, refilled when due, in one
        // transaction: a use spends both or neither.
        const auto now = m_clock.now();
        try {
            m_store.transaction([&](Connection& c) {
                if (record.remaining || record.refill) {
                    checked.remaining =
                        spend_credit(c, CreditTable::keys, record.id, record.refill, now);
                }
                if (identity_counts) {
                    checked.identity_remaining = spend_credit(c, CreditTable::identities,
                                                              identity->id, identity->refill, now);
                }
            });
        } catch (const Exhausted&) {
            checked.valid = false;
            checked.reason = "exhausted";
            return false;
        }
    }
    {
        std::lock_guard lock(m_usage_mutex);
        m_pending_usage[record.id] = m_clock.now();
    }
    return true;
}

void KeyService::flush_usage() {
    std::unordered_map<std::string, UnixMillis> pending;
    {
        std::lock_guard lock(m_usage_mutex);
        pending.swap(m_pending_usage);
    }
    if (pending.empty()) {
        return;
    }
    m_store.transaction([&](Connection& c) {
        for (const auto& [id, at] : pending) {
            c.exec(
                "UPDATE api_keys SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL "
                "OR last_used_at < $2)",
                {id, at});
        }
    });
}

KeyRecord KeyService::get(std::string_view id) {
    flush_usage();
    return m_store.transaction([&](Connection& c) { return load_or_throw(c, id); },
                               store::TxMode::read);
}

std::vector<KeyRecord> KeyService::list(const ListFilter& filter) {
    flush_usage();
    const auto now = m_clock.now();
    // The status is decided in SQL as KeyRecord::status() decides it, so a page
    // holds `limit` keys of that status, never fewer because others were skipped.
    static const std::map<std::string, std::string, std::less<>> k_status_sql{
        {"revoked", "revoked_at IS NOT NULL"},
        {"disabled", "revoked_at IS NULL AND disabled_at IS NOT NULL"},
        {"expired",
         "revoked_at IS NULL AND disabled_at IS NULL AND expires_at IS NOT NULL AND expires_at <= "
         "{now}"},
        {"exhausted",
         "revoked_at IS NULL AND disabled_at IS NULL AND (expires_at IS NULL OR expires_at > "
         "{now}) AND remaining IS NOT NULL AND remaining <= 0"},
        {"active",
         "revoked_at IS NULL AND disabled_at IS NULL AND (expires_at IS NULL OR expires_at > "
         "{now}) AND (remaining IS NULL OR remaining > 0)"},
    };
    store::Params params;
    std::string where = "1 = 1";
    if (filter.status) {
        const auto it = k_status_sql.find(*filter.status);
        if (it == k_status_sql.end()) {
            throw Error(ErrorCode::invalid_argument,
                        "status: must be active, revoked, disabled, expired or exhausted",
                        {{"param", "status"}});
        }
        std::string cond = it->second;
        if (const auto at = cond.find("{now}"); at != std::string::npos) {
            params.emplace_back(now);
            cond.replace(at, 5, "$1");
        }
        where += " AND " + cond;
    }
    if (filter.owner) {
        params.emplace_back(*filter.owner);
        where += " AND owner = $" + std::to_string(params.size());
    }
    if (filter.after) {
        where +=
            " AND " + store::after_position(params, filter.after->created_at, filter.after->id);
    }
    params.emplace_back(filter.limit);
    const auto sql = "SELECT " + std::string(k_columns) + std::string(k_from) + " WHERE " + where +
                     " ORDER BY created_at, id LIMIT $" + std::to_string(params.size());
    const auto rows = m_store.transaction([&](Connection& c) { return c.query(sql, params); },
                                          store::TxMode::read);
    std::vector<KeyRecord> out;
    out.reserve(rows.size());
    for (const auto& r : rows) {
        out.push_back(from_row(r));
    }
    return out;
}

KeyRecord KeyService::update(std::string_view id, const KeyPatch& patch) {
    const auto now = m_clock.now();
    if (patch.name) {
        check_text("name", *patch.name, Required::no);
    }
    if (patch.permissions) {
        check_permissions(*patch.permissions);
    }
    if (patch.metadata) {
        check_metadata(*patch.metadata);
    }
    if (patch.expires_at) {
        check_expiry(*patch.expires_at, now);
    }
    // Outer optional: change it or not; inner: the key's own limit or none.
    std::optional<std::optional<std::string>> rate_limit;
    if (patch.rate_limit) {
        rate_limit.emplace(checked_rate_limit(*patch.rate_limit));
    }
    std::optional<std::vector<NamedLimit>> limits;
    if (patch.limits) {
        limits = parse_named_limits(*patch.limits, "limits");
    }
    std::optional<std::optional<Refill>> refill;
    if (patch.refill) {
        refill = parse_refill(*patch.refill, "refill");
    }
    if (patch.remaining && *patch.remaining && **patch.remaining < 0) {
        throw Error(ErrorCode::invalid_argument, "remaining: must not be negative",
                    {{"param", "remaining"}});
    }
    if (patch.identity_id && *patch.identity_id) {
        check_identity_id(**patch.identity_id);
    }
    auto updated = m_store.transaction([&](Connection& c) {
        auto k = load_or_throw(c, id);
        if (k.revoked_at) {
            throw Error(ErrorCode::conflict, "API key " + k.id + " is revoked", {{"id", k.id}});
        }
        if (patch.identity_id) {
            if (*patch.identity_id) {
                identity_rows::load_or_throw(c, **patch.identity_id);
            }
            k.identity_id = *patch.identity_id;
        }
        if (patch.name)
            k.name = *patch.name;
        if (patch.permissions)
            k.permissions = *patch.permissions;
        if (patch.metadata)
            k.metadata = *patch.metadata;
        if (patch.expires_at)
            k.expires_at = *patch.expires_at;
        if (patch.remaining)
            k.remaining = *patch.remaining;
        if (rate_limit)
            k.rate_limit = *rate_limit;
        if (limits)
            k.limits = *limits;
        if (refill) {
            k.refill = *refill;
            // A new refill counts its periods from now.
            k.last_refill_at = k.refill ? std::optional(now) : std::nullopt;
        }
        k.updated_at = now;
        c.exec(
            "UPDATE api_keys SET name = $2, permissions = $3, metadata = $4, expires_at = $5, "
            "remaining = $6, updated_at = $7, rate_limit = $8, limits = $9, refill = $10, "
            "last_refill_at = $11, identity_id = $12 WHERE id = $1",
            {k.id, k.name, json(k.permissions).dump(), k.metadata.dump(), nullable(k.expires_at),
             nullable(k.remaining), k.updated_at, nullable(k.rate_limit),
             nullable(stored_or_null(k.limits)), nullable(refill_text(k.refill)),
             nullable(k.last_refill_at), nullable(k.identity_id)});
        publish(c, k, "key.updated");
        return k;
    });
    forget(id);
    return updated;
}

CreatedKey KeyService::rotate(std::string_view id, std::int64_t grace_ms) {
    const auto now = m_clock.now();
    auto created = m_store.transaction([&](Connection& c) {
        auto k = load_or_throw(c, id);
        if (k.revoked_at) {
            throw Error(ErrorCode::conflict, "API key " + k.id + " is revoked", {{"id", k.id}});
        }
        const std::string text = make_key(k.id);
        if (grace_ms > 0) {
            k.prev_secret_hash = k.secret_hash;
            k.prev_expires_at = now + grace_ms;
        } else {
            k.prev_secret_hash.reset();
            k.prev_expires_at.reset();
        }
        k.secret_hash = hash_key(text);
        k.updated_at = now;
        c.exec(
            "UPDATE api_keys SET secret_hash = $2, prev_secret_hash = $3, prev_expires_at = $4, "
            "updated_at = $5 WHERE id = $1",
            {k.id, k.secret_hash, nullable(k.prev_secret_hash), nullable(k.prev_expires_at),
             k.updated_at});
        publish(c, k, "key.rotated");
        return CreatedKey{std::move(k), text};
    });
    forget(id);
    return created;
}

KeyRecord KeyService::revoke(std::string_view id) {
    const auto now = m_clock.now();
    auto revoked = m_store.transaction([&](Connection& c) {
        auto k = load_or_throw(c, id);
        if (k.revoked_at) {
            return k;
        }
        k.revoked_at = now;
        k.updated_at = now;
        c.exec("UPDATE api_keys SET revoked_at = $2, updated_at = $2 WHERE id = $1", {k.id, now});
        publish(c, k, "key.revoked");
        return k;
    });
    forget(id);
    return revoked;
}

KeyRecord KeyService::disable(std::string_view id, std::string_view reason) {
    check_text("reason", reason, Required::no);
    return set_disabled(id, reason);
}

KeyRecord KeyService::enable(std::string_view id) {
    return set_disabled(id, std::nullopt);
}

KeyRecord KeyService::set_disabled(std::string_view id, std::optional<std::string_view> reason) {
    const auto now = m_clock.now();
    auto changed = m_store.transaction([&](Connection& c) {
        auto k = load_or_throw(c, id);
        if (k.revoked_at) {
            throw Error(ErrorCode::conflict, "API key " + k.id + " is revoked", {{"id", k.id}});
        }
        if (k.disabled_at.has_value() == reason.has_value()) {
            return k;  // already so: nothing to tell anyone
        }
        // The row first: its lock orders this change's event after any other's (publish).
        k.updated_at = now;
        c.exec("UPDATE api_keys SET updated_at = $2 WHERE id = $1", {k.id, now});
        if (reason) {
            k.disabled_at = now;
            k.disabled_reason = std::string(*reason);
            c.exec(
                "INSERT INTO api_key_disabled (disabled_key_id, disabled_at, disabled_reason) "
                "VALUES ($1, $2, $3) ON CONFLICT (disabled_key_id) DO NOTHING",
                {k.id, now, k.disabled_reason});
        } else {
            k.disabled_at.reset();
            k.disabled_reason.clear();
            c.exec("DELETE FROM api_key_disabled WHERE disabled_key_id = $1", {k.id});
        }
        publish(c, k, reason ? "key.disabled" : "key.enabled");
        return k;
    });
    forget(id);
    return changed;
}

std::vector<KeyRecord> KeyService::import_keys(const std::vector<ImportedKey>& keys,
                                               std::string_view actor) {
    const auto now = m_clock.now();
    if (keys.empty()) {
        throw Error(ErrorCode::invalid_argument, "no keys to import", {{"param", "keys"}});
    }
    if (keys.size() > k_max_import_keys) {
        throw Error(ErrorCode::invalid_argument,
                    "at most " + std::to_string(k_max_import_keys) + " keys per import",
                    {{"param", "keys"}});
    }
    // Every row is checked before anything is written.
    std::vector<KeyRecord> records;
    records.reserve(keys.size());
    std::unordered_map<std::string_view, std::size_t> row_of_hash;
    for (std::size_t i = 0; i < keys.size(); ++i) {
        const auto row = i + 1;
        const auto where = "row " + std::to_string(row);
        const auto& hash = keys[i].hash;
        const bool hex = hash.size() == 64 && std::all_of(hash.begin(), hash.end(), [](char c) {
                             return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                         });
        if (!hex) {
            throw Error(ErrorCode::invalid_argument,
                        where + ": hash: expected 64 lowercase hex digits (a SHA-256)",
                        {{"row", row}, {"param", "hash"}});
        }
        if (const auto [it, fresh] = row_of_hash.emplace(hash, row); !fresh) {
            throw Error(ErrorCode::invalid_argument,
                        where + ": the same hash as row " + std::to_string(it->second),
                        {{"row", row}, {"param", "hash"}});
        }
        try {
            check_new_key(keys[i].key, now);
        } catch (const Error& e) {
            auto details = e.details();
            details["row"] = row;
            throw Error(e.code(), where + ": " + e.what(), std::move(details));
        }
        auto k = record_of(keys[i].key, actor, now, [&](std::string_view) { return hash; });
        k.imported = true;
        records.push_back(std::move(k));
    }
    m_store.transaction([&](Connection& c) {
        for (std::size_t i = 0; i < records.size(); ++i) {
            const auto& k = records[i];
            if (k.identity_id) {
                identity_rows::load_or_throw(c, *k.identity_id);  // not_found: nothing imported
            }
            const auto taken =
                c.query("SELECT imported_key_id FROM api_key_imports WHERE imported_hash = $1",
                        {k.secret_hash});
            if (!taken.empty()) {
                const auto& other = taken.front().get_text(0);
                throw Error(ErrorCode::conflict,
                            "row " + std::to_string(i + 1) +
                                ": a key with this hash was imported already (id " + other + ")",
                            {{"row", i + 1}, {"id", other}});
            }
            insert(c, k, "key.imported");
            c.exec(
                "INSERT INTO api_key_imports (imported_hash, imported_key_id, imported_at) VALUES "
                "($1, $2, $3)",
                {k.secret_hash, k.id, now});
        }
    });
    m_imported->note_imported();
    return records;
}

void KeyService::remove(std::string_view id) {
    m_store.transaction([&](Connection& c) {
        auto k = load_or_throw(c, id);
        c.exec("DELETE FROM api_keys WHERE id = $1", {k.id});
        publish(c, k, "key.deleted");
    });
    forget(id);
    m_imported->note_removed(id);
}

std::shared_ptr<const IdentityRecord> KeyService::identity(std::string_view id) {
    {
        std::shared_lock lock(m_identity_mutex);
        if (auto it = m_identity_cache.find(std::string(id)); it != m_identity_cache.end()) {
            return it->second;
        }
    }
    const auto generation = m_identity_generation.load(std::memory_order_acquire);
    auto loaded = m_store.transaction([&](Connection& c) { return identity_rows::load(c, id); },
                                      store::TxMode::read);
    if (!loaded) {
        return nullptr;
    }
    auto record = std::make_shared<const IdentityRecord>(std::move(*loaded));
    std::unique_lock lock(m_identity_mutex);
    if (m_identity_generation.load(std::memory_order_acquire) != generation) {
        return record;  // changed while loading: answer, but do not cache
    }
    if (m_identity_cache.size() > 100'000) {
        m_identity_cache.clear();  // a crude bound, as for keys
    }
    m_identity_cache[record->id] = record;
    return record;
}

void KeyService::forget_identity(std::string_view id) {
    std::unique_lock lock(m_identity_mutex);
    m_identity_generation.fetch_add(1, std::memory_order_acq_rel);
    m_identity_cache.erase(std::string(id));
}

std::vector<std::string> KeyService::revoke_keys_of(Connection& c, std::string_view identity) {
    const auto now = m_clock.now();
    std::string sql = "SELECT ";
    sql.append(k_columns).append(k_from).append(" WHERE identity_id = $1 ORDER BY id");
    const auto rows = c.query(sql, {std::string(identity)});
    std::vector<std::string> ids;
    for (const auto& row : rows) {
        auto k = from_row(row);
        if (!k.revoked_at) {
            k.revoked_at = now;
        }
        k.identity_id.reset();
        k.updated_at = now;
        c.exec(
            "UPDATE api_keys SET revoked_at = $2, identity_id = NULL, updated_at = $3 WHERE id = "
            "$1",
            {k.id, *k.revoked_at, now});
        publish(c, k, "key.revoked");
        c.after_commit([this, id = k.id] { forget(id); });
        ids.push_back(k.id);
    }
    return ids;
}

bool KeyService::has_active_admin() {
    const auto now = m_clock.now();
    return m_store.transaction([&](Connection& c) { return any_active_admin(c, now); },
                               store::TxMode::read);
}

}  // namespace pb::keys
