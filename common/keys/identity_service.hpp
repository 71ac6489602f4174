#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/core/clock.hpp"
#include "common/keys/identity.hpp"
#include "common/store/store.hpp"

namespace pb::keys {

class KeyService;

struct NewIdentity {
    std::string id;
    nlohmann::json metadata = nlohmann::json::object();
    nlohmann::json limits = nlohmann::json::array();  // parse_named_limits' input
    std::optional<std::int64_t> remaining;
    std::optional<std::string> refill;  // parse_refill's input
};

// Fields to change; an absent optional leaves the field alone.
struct IdentityPatch {
    std::optional<nlohmann::json> metadata;
    std::optional<nlohmann::json> limits;                  // replaces them all
    std::optional<std::optional<std::int64_t>> remaining;  // inner nullopt: unlimited
    std::optional<std::string> refill;                     // "off" removes it
};

// What delete did.
struct RemovedIdentity {
    std::string id;
    std::vector<std::string> revoked_keys;  // with force: its keys, revoked
};

// Identities on the store: create, read, change, delete; every change an
// event on identities/<id> in the same transaction, followed by KeyService's
// in-memory index of identities. Thread-safe.
class IdentityService {
  public:
    IdentityService(store::Store& store, const Clock& clock, KeyService& keys);

    // Error(invalid_argument) for a bad id, metadata, limit, remaining or
    // refill; Error(conflict) when the id is taken. Everything is checked
    // before anything is written.
    IdentityRecord create(const NewIdentity& request, std::string_view actor);
    // Error(not_found).
    IdentityRecord get(std::string_view id);
    // In id order after `after_id`, at most `limit`.
    std::vector<IdentityRecord> list(const std::optional<std::string>& after_id,
                                     std::int64_t limit);
    // Error(not_found); invalid_argument as create().
    IdentityRecord update(std::string_view id, const IdentityPatch& patch);
    // Error(not_found); Error(conflict) while keys belong to it, unless
    // `force`: then those keys are revoked (and detached) in the same
    // transaction, so no key outlives the limits and credits it was given under.
    RemovedIdentity remove(std::string_view id, bool force);

  private:
    store::Store& m_store;
    const Clock& m_clock;
    KeyService& m_keys;
};

}  // namespace pb::keys
