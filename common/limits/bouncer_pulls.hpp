#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/core/clock.hpp"
#include "common/limits/crowdsec.hpp"
#include "common/store/store.hpp"

namespace pb::limits {

// The "since your last pull" of CrowdSec's decision stream, kept per puller:
// a caller (a bouncer's key, "key:<id>") AND its client address, so replicas
// of one bouncer sharing a key each get every change (CrowdSec keeps it per
// key and loses decisions then: crowdsec issue #3255).
//
// The state of a puller is the set of decisions it was last sent (table
// bouncer_sent), and every answer is a difference between that set and the
// ip/range bans in force, stored back in one serializable transaction. So
// whatever pbd answers, whenever a change committed, the next pull compares
// against the store itself: a cursor alone would be wrong (on PostgreSQL a
// seq is taken at INSERT and seen at COMMIT, so a lower one can appear after
// a pull moved past it; an expiry writes no event; the outbox is pruned).
//
// Which bans to compare is what the outbox position saves. A puller also
// keeps the outbox seq below which every change is settled (events.hpp's
// k_commit_gap_wait) and the filter it pulled with. A delta pull then
// compares only the bans the "bans" events after that seq name, plus the
// sent decisions whose expiry passed: a quiet interval costs two indexed
// reads, not a read of every ban in force. It compares everything instead
// on a startup pull, a new filter, a pruned gap after its seq, or more
// changes than k_delta_max (where one full read is cheaper).
//
// A pull that commits but whose answer never reaches the bouncer is lost to
// that bouncer until its next startup pull (as with CrowdSec's own instant).
// Two bouncers behind one NAT address sharing one key are one puller: give
// each its own key (pbctl bouncers add). Pulls of one puller take turns in
// this process (no serialization failure to retry); thread-safe.
class BouncerPulls {
  public:
    BouncerPulls(store::Store& store, const Clock& clock) : m_store(store), m_clock(clock) {}

    // One pull of `actor` from `address`: {"new":[decision…]|null,
    // "deleted":[decision…]|null} (crowdsec::decision_json). `startup`: every
    // decision in force is new (the bouncer starts empty), and whatever this
    // puller held that is no longer in force is deleted. Otherwise: the ones
    // it was not sent (or sent with another expiry) are new; the ones it was
    // sent that expired, were removed, or no longer pass `filter` are deleted.
    // A startup pull also forgets pullers not seen for k_stale_ms.
    nlohmann::json pull(std::string_view actor, std::string_view address, bool startup,
                        const crowdsec::DecisionFilter& filter);

    // Forgets every puller of `actor` (its key was removed); how many.
    std::int64_t forget(std::string_view actor);

    // A puller silent this long is forgotten (its next pull starts afresh).
    static constexpr std::int64_t k_stale_ms = 30LL * 24 * 3600 * 1000;
    // Past this many changed bans, a delta pull compares everything.
    static constexpr std::size_t k_delta_max = 5000;

  private:
    std::mutex& turn_of(std::string_view actor, std::string_view address);

    store::Store& m_store;
    const Clock& m_clock;
    std::array<std::mutex, 64> m_turns;
};

}  // namespace pb::limits
