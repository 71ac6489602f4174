#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/core/clock.hpp"
#include "common/core/swappable.hpp"
#include "common/events/followed_index.hpp"
#include "common/events/follower.hpp"
#include "common/limits/ban.hpp"
#include "common/store/store.hpp"

namespace pb::limits {

// How bans behave, from the config (bans.*).
struct BanSettings {
    std::vector<IpRange> allow;                 // never banned automatically (bans.allow)
    std::int64_t auto_duration_ms = 300'000;    // the first automatic ban (bans.auto.duration)
    std::int64_t auto_factor = 2;               // each repeat lasts this much longer
    std::int64_t auto_max_ms = 86'400'000;      // the longest automatic ban
    std::int64_t retention_ms = 2'592'000'000;  // expired bans are purged this long after
};

// Whether a manual ban may cover an address of bans.allow (the operator's own
// addresses, which a ban of 0.0.0.0/0 would lock out of pbd).
enum class AllowListGuard { refuse, force };

struct NewBan {
    std::string target;                       // see parse_target()
    std::optional<std::int64_t> duration_ms;  // nullopt: until removed
    std::string reason;
    AllowListGuard guard = AllowListGuard::refuse;
};

// Bans in (created_at, id) order, from just after `after` on (keyset paging).
struct BanFilter {
    std::optional<BanKind> kind;
    bool include_expired = false;
    struct Position {
        UnixMillis created_at = 0;
        std::int64_t id = 0;
    };
    std::optional<Position> after;
    std::int64_t limit = 100;
};

// One row of an import (see ban_io.hpp for the file formats).
struct ImportRow {
    BanTarget target;
    std::optional<UnixMillis> expires_at;
    std::string reason;
    BanOrigin origin = BanOrigin::manual;
};

// Who is calling, as far as bans go: any part may be absent.
struct CallerIdentity {
    std::optional<IpAddress> address;  // the client address (after trusted proxies)
    std::string_view user;             // a JWT subject, or the owner of an API key
    std::string_view key_id;           // the id of the API key presented
};

struct ImportResult {
    std::int64_t imported = 0;
    std::int64_t skipped_expired = 0;  // rows whose expiry had already passed
};

// Bans on the store, with an in-memory index that answers "is this caller
// banned" in well under a microsecond against thousands of CIDR ranges.
// Every change appends an event (topic "bans", ban.added / ban.removed) in the
// same transaction; the index follows the outbox through an events::Follower,
// so a ban added by another process (pbctl on the database) is enforced by the
// next check. The index is loaded on first use (pbctl commands that never
// check a ban pay nothing). Thread-safe.
class BanService {
  public:
    // `follower` delivers changes made elsewhere; without one the service
    // follows the outbox itself.
    BanService(store::Store& store, const Clock& clock, events::Follower& follower,
               BanSettings settings);
    BanService(store::Store& store, const Clock& clock, BanSettings settings);

    // Bans a target (replacing any ban on the same target), recorded with
    // `actor` and origin manual. Error(invalid_argument) for a bad target,
    // duration or reason; Error(conflict) for an address or range that holds
    // an address of bans.allow, unless AllowListGuard::force.
    Ban add(const NewBan& request, std::string_view actor);
    // Bans automatically after repeated violations: origin auto, lasting
    // auto_duration_ms × auto_factor^(strikes-1) up to auto_max_ms, where
    // strikes counts the automatic bans of this target still remembered.
    // nullopt (and nothing written) when the target is in the allow-list or
    // already banned.
    std::optional<Ban> auto_ban(const BanTarget& target, std::string_view reason);
    // Lifts the ban on a target. Error(not_found) when there is none.
    Ban remove(std::string_view target);
    std::vector<Ban> list(const BanFilter& filter);
    // Every ban in force, oldest first (for export).
    std::vector<Ban> all_active();
    // Writes every row in one transaction, or nothing (rows are validated
    // before; a store failure rolls back all).
    // Error(conflict), nothing written, when a row covers an address of
    // bans.allow, unless AllowListGuard::force.
    ImportResult import(const std::vector<ImportRow>& rows, std::string_view actor,
                        AllowListGuard guard = AllowListGuard::refuse);
    // Deletes bans that expired more than retention_ms ago; returns how many.
    std::int64_t purge_expired();

    // The ban in force on a target: for an address, a ban on it or on a range
    // holding it (the most specific); for a range, a range ban covering all of
    // it; for a user or key, its ban. Error(invalid_argument) for a bad target.
    std::shared_ptr<const Ban> check(std::string_view target);

    // The hot path (the daemon calls these for every request): no exceptions
    // once the index is loaded (a store failure keeps the last index, is
    // logged once, and is retried after a second). nullptr when not banned.
    std::shared_ptr<const Ban> match_address(const IpAddress& address);
    std::shared_ptr<const Ban> match_user(std::string_view user);
    std::shared_ptr<const Ban> match_key(std::string_view key_id);
    // The first ban in force on any part of `caller`: address (and ranges
    // holding it), then key, then user. One index snapshot for all three.
    std::shared_ptr<const Ban> match_caller(const CallerIdentity& caller);

    // True when `address` is in the allow-list.
    bool allow_listed(const IpAddress& address) const;
    // The first range of the allow-list that shares an address with an IP or
    // range target, or nullopt (always for a user or key).
    std::optional<IpRange> allow_listed_overlap(const BanTarget& target) const;
    // The settings in force (a reference that stays valid after a reload).
    const BanSettings& settings() const { return m_settings.get(); }
    // Applies new settings (allow-list, automatic ban durations, retention)
    // at once; a call under way finishes with the ones it started with.
    void reload(BanSettings settings) { m_settings.swap(std::move(settings)); }

    // Brings the index up to date with the store (done by every check; public
    // for the daemon's warm-up). Error(unavailable) only on the first load.
    void refresh();
    // Applies the pending targets to the index (under m_followed's mutex).
    void apply_pending();

  private:
    struct Snapshot;

    void follow();
    void on_event(const events::Event& e);
    // The current index, read under a shared lock (no reference count to
    // bump: two cores checking at once share no written cache line but the lock's).
    using SnapshotView = std::pair<std::shared_lock<std::shared_mutex>, const Snapshot*>;
    SnapshotView read_snapshot();
    void full_load();
    void reload(const std::set<std::string>& targets);
    void rebuild();
    Ban upsert(store::Connection& c, Ban ban);
    // Error(conflict) when `target` covers an address of bans.allow, unless forced.
    void check_allow_list(const BanTarget& target, AllowListGuard guard) const;

    store::Store& m_store;
    const Clock& m_clock;
    Swappable<BanSettings> m_settings;
    std::unique_ptr<events::Follower> m_own_follower;
    events::Follower& m_follower;

    // Targets named by events not yet applied to the index (on_event notes
    // them, then counts the change in m_followed).
    std::mutex m_pending_mutex;
    std::set<std::string> m_pending;                           // guarded by m_pending_mutex
    bool m_pending_everything = false;                         // guarded by m_pending_mutex
    events::FollowedIndex m_followed;                          // its mutex guards m_bans
    std::map<std::string, std::shared_ptr<const Ban>> m_bans;  // by target text

    std::shared_mutex m_snapshot_mutex;
    std::shared_ptr<const Snapshot> m_snapshot;
};

}  // namespace pb::limits
