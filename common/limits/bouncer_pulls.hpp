#pragma once

#include <cstdint>
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
// Why a set and not a cursor: the state of a puller is the set of decisions
// it was last sent (table bouncer_sent), and a pull answers the difference
// between that set and the ip/range bans in force now, then stores the new
// set, in one serializable transaction. A cursor over the outbox or a ban
// change log (seq > last) is wrong with several pbd on one PostgreSQL: a seq
// is taken at INSERT and visible at COMMIT, so a lower seq can appear after a
// pull moved past it and that change is never sent; an expiry writes no event
// at all; and the outbox is pruned (events.retention), so a bouncer away
// longer loses its deletions. The difference has none of these: whatever pbd
// answers, whenever a change committed, the next pull compares against the
// store itself. The cost is reading the bans in force on each pull (the
// native ban stream of issue #24 is where a cursor belongs: its client holds it).
//
// A pull that commits but whose answer never reaches the bouncer is lost to
// that bouncer until its next startup pull (as with CrowdSec's own instant).
// Two bouncers behind one NAT address sharing one key are one puller: give
// each its own key (pbctl bouncers add). Thread-safe (the store is).
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

  private:
    store::Store& m_store;
    const Clock& m_clock;
};

}  // namespace pb::limits
