#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/core/clock.hpp"
#include "common/events/follower.hpp"
#include "common/keys/identity.hpp"
#include "common/keys/named_limit.hpp"
#include "common/keys/refill.hpp"
#include "common/store/store.hpp"

namespace pb::keys {

class RedisKeyCache;
class ImportedKeys;

// The most keys one keys.import takes.
inline constexpr std::size_t k_max_import_keys = 100'000;
class IdentityService;

// created_by of the key pbd makes at its first start (create_first_admin):
// what marks it as the bootstrap key ("bootstrap": true), which no op can set.
inline constexpr std::string_view k_bootstrap_actor = "pbd:bootstrap";

// A stored API key (never its secret).
struct KeyRecord {
    std::string id;
    std::string owner;
    std::string name;
    std::string secret_hash;
    std::optional<std::string> prev_secret_hash;  // valid until prev_expires_at (rotation grace)
    std::optional<UnixMillis> prev_expires_at;
    std::vector<std::string> permissions;
    nlohmann::json metadata = nlohmann::json::object();
    UnixMillis created_at = 0;
    std::string created_by;
    UnixMillis updated_at = 0;
    std::optional<UnixMillis> expires_at;
    std::optional<std::int64_t> remaining;
    std::optional<UnixMillis> revoked_at;
    std::optional<UnixMillis> last_used_at;
    // The key's own rate limit ("10/s", "600/min,50"), overriding limits.key.rate.
    std::optional<std::string> rate_limit;
    // Disabled until enabled again (revoking is for good): since when, and why.
    std::optional<UnixMillis> disabled_at;
    std::string disabled_reason;
    // Moved in from another system (keys.import): its secret_hash is the
    // SHA-256 of that system's key text, found by hash (see KeyService::check).
    bool imported = false;
    // The identity whose limits and credits it shares, if any.
    std::optional<std::string> identity_id;
    // Its own named limits (its bucket each), sorted by name.
    std::vector<NamedLimit> limits;
    std::optional<Refill> refill;  // of `remaining`
    std::optional<UnixMillis> last_refill_at;

    // "active", "revoked", "disabled", "expired" or "exhausted" at `now`, the
    // first that applies in that order.
    std::string status(UnixMillis now) const;
    // The public view: no hashes; times as RFC 3339.
    nlohmann::json to_json(UnixMillis now) const;
    // The JSON Schema of to_json() (named "ApiKey" in /openapi.json).
    static nlohmann::json schema();
};

struct NewKey {
    std::string owner;
    std::string name;
    std::vector<std::string> permissions;
    std::optional<UnixMillis> expires_at;
    std::optional<std::int64_t> remaining;
    nlohmann::json metadata = nlohmann::json::object();
    std::optional<std::string> rate_limit;
    std::optional<std::string> identity_id;           // must exist
    nlohmann::json limits = nlohmann::json::array();  // parse_named_limits' input
    std::optional<std::string> refill;                // parse_refill's input
};

// Fields to change; an absent optional leaves the field alone.
struct KeyPatch {
    std::optional<std::string> name;
    std::optional<std::vector<std::string>> permissions;
    std::optional<std::optional<UnixMillis>> expires_at;   // inner nullopt: never expires
    std::optional<std::optional<std::int64_t>> remaining;  // inner nullopt: unlimited
    std::optional<nlohmann::json> metadata;
    std::optional<std::optional<std::string>> rate_limit;  // inner nullopt: the scope's default
    std::optional<nlohmann::json> limits;                  // replaces them all
    std::optional<std::string> refill;                     // "off" removes it
    // Into this identity (it must exist: not_found otherwise); inner nullopt:
    // out of its identity.
    std::optional<std::optional<std::string>> identity_id;
};

// Keys in (created_at, id) order, from just after `after` on (keyset paging).
struct ListFilter {
    std::optional<std::string> owner;
    std::optional<std::string> status;  // active, revoked, disabled, expired or exhausted
    struct Position {
        UnixMillis created_at = 0;
        std::string id;
    };
    std::optional<Position> after;
    std::int64_t limit = 100;
};

// What create() and import_keys() check of a new key before anything is
// written: Error(invalid_argument) for a bad owner, name, permission,
// metadata, expiry (not after `now`) or remaining count.
void check_new_key(const NewKey& request, UnixMillis now);

// A key of another system to register by the SHA-256 of its text (keys.import).
struct ImportedKey {
    std::string hash;  // 64 lowercase hex digits
    NewKey key;
};

// A key and the one time its secret text is shown.
struct CreatedKey {
    KeyRecord record;
    std::string key;
};

// The outcome of verify: a value, not an error, since "no" is a normal answer.
struct VerifyResult {
    bool valid = false;
    std::string reason;  // malformed, unknown, revoked, disabled, expired, exhausted
    std::shared_ptr<const KeyRecord> key;
    // The key's identity (as of the in-memory index), when it has one.
    std::shared_ptr<const IdentityRecord> identity;
    std::optional<std::int64_t> remaining;           // after this use
    std::optional<std::int64_t> identity_remaining;  // the identity's credits after this use
    // When the presented secret stops verifying by itself: the key's expiry,
    // or the end of a rotation's grace for a previous secret (nullopt: never).
    std::optional<UnixMillis> valid_until;
    nlohmann::json to_json(UnixMillis now) const;
    // {"id","metadata","remaining"} of its identity, or null.
    nlohmann::json identity_json() const;
    // The JSON Schema of to_json() and of keys::Admission::to_json().
    static nlohmann::json schema();
};

// API keys on the store. Thread-safe. Verification is answered from an
// in-memory index that any change, by this process or another, invalidates
// before the next verify (via the events outbox).
class KeyService {
  public:
    // `follower` delivers changes made elsewhere; without one the service
    // follows the outbox itself. `redis_cache`, when not null, is consulted on
    // in-memory misses before the database (see RedisKeyCache).
    KeyService(store::Store& store, const Clock& clock, events::Follower& follower);
    KeyService(store::Store& store, const Clock& clock);
    KeyService(store::Store& store, const Clock& clock, events::Follower& follower,
               std::unique_ptr<RedisKeyCache> redis_cache);
    KeyService(store::Store& store, const Clock& clock, std::unique_ptr<RedisKeyCache> redis_cache);
    ~KeyService();

    // Creates a key; throws Error(invalid_argument) for a bad owner, name,
    // permission, expiry or remaining count.
    CreatedKey create(const NewKey& request, std::string_view actor);
    // Checks a presented key; a key with remaining uses spends one atomically.
    // check() then spend(): callers that admit a key (bans and limits between
    // the two, see keys/admission.hpp) call those instead.
    VerifyResult verify(std::string_view key);
    // Checks a presented key from the in-memory index and spends nothing: a
    // key whose remaining count is known to be 0 is "exhausted"; one whose
    // count is positive here may still be found spent by spend().
    VerifyResult check(std::string_view key);
    // Spends one use of a checked key (when it counts its uses) and notes its
    // last-used time: false ("exhausted" in `checked`) when none is left.
    bool spend(VerifyResult& checked);
    // Error(not_found) when absent.
    KeyRecord get(std::string_view id);
    std::vector<KeyRecord> list(const ListFilter& filter);
    // Error(conflict) on a revoked key; Error(not_found) for the key or for
    // the identity it is moved into, with nothing written.
    KeyRecord update(std::string_view id, const KeyPatch& patch);
    // New secret, same settings; the old secret keeps working for `grace_ms`.
    CreatedKey rotate(std::string_view id, std::int64_t grace_ms);
    // Idempotent.
    KeyRecord revoke(std::string_view id);
    // The key stops verifying ("disabled") until enable(); `reason` (at most
    // 200 characters, may be empty) is shown with it. Disabling a disabled key
    // changes nothing. Error(conflict) on a revoked key, not_found.
    KeyRecord disable(std::string_view id, std::string_view reason);
    // Undoes disable(); idempotent. Error(conflict) on a revoked key, not_found.
    KeyRecord enable(std::string_view id);
    // Registers other systems' keys by the SHA-256 of their text, all in one
    // transaction or none: Error(invalid_argument) naming the row (1 = the
    // first) for a bad owner, name, permission, expiry or count, or a hash
    // given twice; Error(conflict) for a hash already imported. Each is a key
    // of pb's (an id, listed, disabled, revoked like any), which check() finds
    // by hash. At most k_max_import_keys.
    std::vector<KeyRecord> import_keys(const std::vector<ImportedKey>& keys,
                                       std::string_view actor);
    void remove(std::string_view id);

    // True when some key was imported (as check() finds them: after catching
    // up with the outbox).
    bool has_imported_keys();

    // Writes pending last-used times (batched off the verify path).
    void flush_usage();
    // True when some key neither revoked, expired nor exhausted holds the
    // admin permission (a disabled one counts: enabling it is the way back).
    bool has_active_admin();
    // Creates an admin key (owner "bootstrap", created_by k_bootstrap_actor)
    // unless an active key holds admin; the check and the insert are one write
    // transaction. `before_commit`, when given, runs inside it once the key is
    // inserted (perhaps more than once, with the same key, when a serializable
    // transaction is retried): if it throws, nothing is committed.
    std::optional<CreatedKey> create_first_admin(
        const std::function<void(const CreatedKey&)>& before_commit = {});

    // Identities: what several keys share (limits, credits).
    IdentityService& identities() { return *m_identities; }
    // An identity from the in-memory index (loaded on a miss), or nullptr.
    std::shared_ptr<const IdentityRecord> identity(std::string_view id);
    // Drops an identity from the index (its changes call it after commit; other
    // processes' arrive through the outbox).
    void forget_identity(std::string_view id);
    // Revokes and detaches every key of `identity`, in `c`'s transaction (the
    // identity's forced delete); their ids.
    std::vector<std::string> revoke_keys_of(store::Connection& c, std::string_view identity);

    // The Redis tier (its counters, for /metrics), or nullptr when off.
    const RedisKeyCache* redis_cache() const { return m_redis_cache.get(); }

  private:
    std::shared_ptr<const KeyRecord> cached(std::string_view id);
    // check()'s way for a text not in pb's format: its record when it is an
    // imported key's (`hash` set to its hash), else null with `reason` set.
    std::shared_ptr<const KeyRecord> imported_record(std::string_view key, std::string& hash,
                                                     std::string& reason);
    // A change of the key's disabled state, as disable() and enable() make it.
    KeyRecord set_disabled(std::string_view id, std::optional<std::string_view> reason);
    // From the Redis tier when there is one, else from the database.
    std::optional<KeyRecord> load_record(std::string_view id);
    CreatedKey new_record(const NewKey& request, std::string_view actor, UnixMillis now);
    // A new record of `request` with a fresh id, whose secret_hash `hash_of(id)` gives.
    KeyRecord record_of(const NewKey& request, std::string_view actor, UnixMillis now,
                        const std::function<std::string(std::string_view id)>& hash_of);
    void insert(store::Connection& c, const KeyRecord& k, std::string_view event = "key.created");
    void follow();
    void forget(std::string_view id);
    void publish(store::Connection& c, const KeyRecord& k, std::string_view type);

    store::Store& m_store;
    const Clock& m_clock;

    std::shared_mutex m_cache_mutex;
    std::unordered_map<std::string, std::shared_ptr<const KeyRecord>> m_cache;
    // Bumped by every forget(): a load that raced with one is not cached.
    std::atomic<std::uint64_t> m_generation{0};
    std::unique_ptr<RedisKeyCache> m_redis_cache;
    std::unique_ptr<events::Follower> m_own_follower;
    events::Follower& m_follower;

    std::shared_mutex m_identity_mutex;
    std::unordered_map<std::string, std::shared_ptr<const IdentityRecord>> m_identity_cache;
    std::atomic<std::uint64_t> m_identity_generation{0};
    std::unique_ptr<IdentityService> m_identities;

    std::mutex m_usage_mutex;
    std::unordered_map<std::string, UnixMillis> m_pending_usage;

    // Keys imported by hash: whether any exist, and which id a hash is.
    std::unique_ptr<ImportedKeys> m_imported;
};

}  // namespace pb::keys
