#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "common/core/clock.hpp"
#include "common/core/config.hpp"
#include "common/core/secret_box.hpp"
#include "common/keys/service.hpp"
#include "common/store/store.hpp"

namespace pb::redis {
class Client;
}

namespace pb::keys {

// A key record as the database had it, with the newest outbox seq of topic
// "keys/<id>" in the same snapshot (0 when it has none left).
struct VersionedRecord {
    KeyRecord record;
    std::int64_t key_seq = 0;
};

// A second tier under KeyService's in-memory index, shared by every process on
// one Redis: an in-memory miss reads <prefix>key:<id> before the database, and
// a database load is written there for `ttl`. It never makes a process accept
// a key after a change to it has reached that process (through the outbox or
// pub/sub), even when Redis missed the change's DEL:
//  - each entry carries key_seq, the newest "keys/<id>" seq its snapshot saw.
//    Changes to one key are serialised by the row lock on api_keys and take
//    their seq after it, so a snapshot that holds seq s holds every change to
//    the key up to s. note_change() records, per key, the newest seq this
//    process has applied; an entry below it is stale: refused and replaced.
//  - that map is bounded: a key's seq is dropped `horizon` after it was noted
//    (or early, beyond k_max_tracked keys). Dropping raises a floor time, and
//    an entry for a key the map does not hold is trusted only if it was
//    loaded k_clock_skew_ms after the floor. The floor starts at construction,
//    so entries loaded before this process could have seen a change are
//    refused too. This part assumes the processes' clocks agree within
//    k_clock_skew_ms; the seq part assumes nothing.
// Entries are sealed under the master key (AES-256-GCM, bound to the key id):
// whoever can write to Redis but cannot read the master key cannot forge an
// entry (a hash of a key text of their own under an admin key's id), and an
// old entry replayed is what the seq rules refuse. Without a master key the
// tier stays off. Entries hold the secret's hash, as the database does, never
// a secret. Negative answers (no such key) are never stored. A Redis failure
// never fails a lookup: the database answers and the failure is counted.
// Thread-safe.
class RedisKeyCache {
  public:
    using Loader = std::function<std::optional<VersionedRecord>(std::string_view id)>;

    // Processes whose clocks differ by more than this could trust an entry that
    // missed a change older than the tracked horizon (see above).
    static constexpr std::int64_t k_clock_skew_ms = 5000;
    // Keys whose applied seq is remembered, at most; beyond, the oldest go early.
    static constexpr std::size_t k_max_tracked = 100'000;

    // `ttl_ms` > 0: how long an entry lives in Redis. `open_box` gives the
    // master key, on first use; when it throws, the tier turns itself off
    // (logged once) and every lookup goes to the database.
    RedisKeyCache(redis::Client& client, const Clock& clock, std::int64_t ttl_ms,
                  std::function<const SecretBox&()> open_box);

    // The record of key `id`: a fresh Redis entry, else `load` (the database:
    // it must read the record and key_seq in one snapshot), whose answer is
    // written to Redis; nullopt when the key does not exist. Errors are those
    // of `load`; Redis's are counted, never thrown.
    std::optional<KeyRecord> get(std::string_view id, const Loader& load);

    // A change to key `id` with outbox seq `seq` has reached this process:
    // entries that do not hold it are stale from now on. Call it before the
    // in-memory index forgets the key.
    void note_change(std::string_view id, std::int64_t seq);
    // Deletes the key's entry after a change committed (best effort: a
    // failure is counted; note_change() keeps correctness without it).
    void invalidate(std::string_view id) noexcept;

    // "<prefix>key:<id>".
    std::string redis_key(std::string_view id) const;
    std::int64_t ttl_ms() const { return m_ttl_ms; }
    // How long a noted seq is remembered: 2 × ttl + k_clock_skew_ms, so that
    // entries loaded within a ttl of now are judged by seq, not by the floor.
    std::int64_t horizon_ms() const { return m_horizon_ms; }
    // Keys whose applied seq is remembered now.
    std::size_t tracked() const;

    // Counters for /metrics. hits: answered from Redis; misses: no entry, the
    // database answered; stale: an entry refused (older than a change this
    // process applied, or than its floor); errors: Redis calls that failed
    // and entries that could not be read.
    std::uint64_t hits() const { return m_hits.load(std::memory_order_relaxed); }
    std::uint64_t misses() const { return m_misses.load(std::memory_order_relaxed); }
    std::uint64_t stale() const { return m_stale.load(std::memory_order_relaxed); }
    std::uint64_t errors() const { return m_errors.load(std::memory_order_relaxed); }

  private:
    struct Applied {
        std::int64_t seq = 0;
        UnixMillis at = 0;
    };
    const SecretBox* box();
    bool fresh(std::string_view id, std::int64_t key_seq, UnixMillis loaded_at) const;
    void put(const SecretBox& sealer, const VersionedRecord& v, UnixMillis loaded_at);
    void remove(std::string_view id);
    void evict(UnixMillis now);  // m_mutex held

    redis::Client& m_client;
    const Clock& m_clock;
    const std::int64_t m_ttl_ms;
    const std::int64_t m_horizon_ms;
    std::function<const SecretBox&()> m_open_box;
    std::once_flag m_box_once;
    const SecretBox* m_box = nullptr;  // set once; nullptr: no master key, tier off

    mutable std::mutex m_mutex;
    std::unordered_map<std::string, Applied> m_applied;      // guarded by m_mutex
    std::deque<std::pair<UnixMillis, std::string>> m_order;  // noting order; guarded
    UnixMillis m_floor = 0;                                  // guarded by m_mutex

    std::atomic<std::uint64_t> m_hits{0};
    std::atomic<std::uint64_t> m_misses{0};
    std::atomic<std::uint64_t> m_stale{0};
    std::atomic<std::uint64_t> m_errors{0};
};

// The tier redis.key_cache_ttl asks for: nullptr without a client, with a
// ttl of 0, or on SQLite, whose in-process read (~9 us) beats any Redis round
// trip. Error(invalid_argument) for a ttl over a day.
std::unique_ptr<RedisKeyCache> make_redis_key_cache(redis::Client* client, store::Dialect dialect,
                                                    const Config& config, const Clock& clock,
                                                    std::function<const SecretBox&()> open_box);

}  // namespace pb::keys
