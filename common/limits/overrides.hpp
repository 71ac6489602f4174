#pragma once

#include <atomic>
#include <cstdint>
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
#include "common/events/followed_index.hpp"
#include "common/events/follower.hpp"
#include "common/limits/cidr.hpp"
#include "common/limits/policy.hpp"
#include "common/store/store.hpp"

namespace pb::limits {

// What an override names: the scopes a check counts (ip, user, key) and an
// identity (whose keys share limits; applied by the identities' code through
// LimitService::resolve_policy).
enum class OverrideScope : std::uint8_t { ip, user, key, identity };
// exact: one address or name; cidr: a range of addresses; glob: names
// matching a pattern of `*` (any run) and `?` (one character).
enum class OverrideKind : std::uint8_t { exact, cidr, glob };

std::string_view to_string(OverrideScope scope);
std::string_view to_string(OverrideKind kind);

// A parsed override target: "ip:203.0.113.7", "ip:203.0.113.0/24",
// "user:acme-*", "key:ID", "identity:ID". `value` is canonical (an address
// or range as pb prints it; a /32 or /128 is the address, exact).
struct OverrideTarget {
    OverrideScope scope = OverrideScope::ip;
    OverrideKind kind = OverrideKind::exact;
    std::string value;
    std::optional<IpRange> range;  // ip scope

    // "ip:203.0.113.0/24", "user:acme-*".
    std::string text() const;
};

// Throws Error(invalid_argument, param "target") naming what is wrong: no
// scope or an unknown one, a bad address or CIDR, an empty value, a glob on
// the ip scope (write a CIDR), control characters, more than 200 characters.
OverrideTarget parse_override_target(std::string_view text);

// True when `name` matches `glob` (`*` any run of characters, `?` one).
bool glob_match(std::string_view glob, std::string_view name);

// One stored override of a scope's policy.
struct Override {
    std::int64_t id = 0;  // newer overrides have larger ids (set replaces: a new id)
    OverrideTarget target;
    Policy policy;
    bool shadow = false;  // counts and reports, never refuses
    std::string reason;
    UnixMillis created_at = 0;
    std::string created_by;

    // The name a decision reports: "override:ip:203.0.113.0/24".
    std::string policy_name() const { return "override:" + target.text(); }
    nlohmann::json to_json() const;
    // The JSON Schema of to_json() ("LimitOverride").
    static nlohmann::json schema();
};

// The overrides in force, indexed for the check path; immutable once built,
// shared by readers. Lookups, most specific first: for an address, the exact
// address, then the ranges holding it, longest prefix first; for a name, the
// exact name, then the globs whose literal prefix (the text before the first
// wildcard) it starts with, longest literal prefix first, then the newest.
class OverrideIndex {
  public:
    OverrideIndex() = default;
    explicit OverrideIndex(std::vector<std::shared_ptr<const Override>> overrides);

    const Override* find_address(const IpAddress& address) const;
    // For ip, `id` must be an address (canonical or not): find_address.
    const Override* find(OverrideScope scope, std::string_view id) const;
    std::size_t size() const { return m_all.size(); }

  private:
    struct StringHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };
    template <class T>
    using NameMap = std::unordered_map<std::string, T, StringHash, std::equal_to<>>;
    struct Names {
        NameMap<const Override*> exact;
        // Globs by literal prefix, newest first in each list.
        NameMap<std::vector<const Override*>> globs;
        std::vector<std::size_t> prefix_lengths;  // of `globs`, longest first
        // Every literal prefix cut to the shortest one's length: a name
        // whose start is not among them matches no glob (one probe, not one
        // per length). Unused when a glob has an empty literal prefix.
        NameMap<bool> starts;
        std::size_t start_length = 0;
        // One bit per hash_id() of each exact name and each of `starts`: most
        // ids have no override, and a clear bit says so in one small read
        // instead of two probes of node-based maps (issue #25's bound on
        // what 10,000 overrides may cost a check).
        std::vector<std::uint64_t> filter;
        std::uint64_t filter_mask = 0;  // of bit numbers
        void fill_filter();
        bool may_hold(std::string_view s) const;
    };

    std::vector<std::shared_ptr<const Override>> m_all;
    std::vector<const Override*> m_addressed;  // CidrIndex payloads
    CidrIndex m_cidr;
    Names m_names[4];  // by OverrideScope (ip unused)
};

// What an override set asks for.
struct NewOverride {
    std::string target;  // parse_override_target()
    std::string rate;    // "1000/min" or "1000/min,50" (RATE,BURST)
    bool shadow = false;
    std::string reason;
};

// Overrides on the store (table limit_overrides), with the index that checks
// read. Every change appends an event (topic "limits", limit_override.set /
// limit_override.removed) in the same transaction, and the index follows the
// outbox through the Follower, as the ban index does: an override set by
// pbctl on the database applies to pbd's next check. Loaded on first use.
// Thread-safe.
class OverrideService {
  public:
    OverrideService(store::Store& store, const Clock& clock, events::Follower& follower);

    // Sets (or replaces: a new id, so the newest among globs) the override of
    // a target. Error(invalid_argument) for a bad target, rate or reason,
    // nothing written.
    Override set(const NewOverride& request, std::string_view actor);
    // Error(invalid_argument) for a bad target; Error(not_found) when that
    // target has no override.
    Override remove(std::string_view target);
    // Every override, by target text (byte order).
    std::vector<Override> list();

    // The override that applies to an address (exact, then ranges, longest
    // prefix first) or to a name of `scope` (exact, then globs), as the
    // policy a check applies; nullopt when none does. Each brings the index
    // up to date with the outbox first; a store failure keeps the last index
    // (logged once, retried after a second), except on the first load:
    // Error(unavailable).
    std::optional<AppliedPolicy> match_address(const IpAddress& address);
    std::optional<AppliedPolicy> match(OverrideScope scope, std::string_view id);
    // How many overrides the index holds (after bringing it up to date).
    std::size_t size();

  private:
    void refresh();
    void load();

    store::Store& m_store;
    const Clock& m_clock;
    events::Follower& m_follower;
    events::FollowedIndex m_followed;  // its mutex guards load()
    mutable std::shared_mutex m_index_mutex;
    std::shared_ptr<const OverrideIndex> m_index;
};

}  // namespace pb::limits
