#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/core/clock.hpp"
#include "common/states/state.hpp"
#include "common/store/store.hpp"

namespace pb::states {

// The largest data document a state may hold, serialised.
inline constexpr std::size_t k_max_data_bytes = 256 * 1024;
// The most states one list page returns.
inline constexpr std::int64_t k_max_page = 1000;
// Who is recorded when a state passes to expired by itself.
inline constexpr std::string_view k_expiry_actor = "system:expiry";

struct NewState {
    std::string id;
    StateType type = StateType::system;
    nlohmann::json data = nlohmann::json::object();
    // nullopt: every transition the table allows. Must not be empty.
    std::optional<std::vector<Transition>> allowed;
    // The state passes to expired this long after creation (and after each renew).
    std::optional<std::int64_t> ttl_ms;
};

enum class UpdateMode { merge, replace };

struct StateUpdate {
    std::string id;
    nlohmann::json data;                     // a JSON object
    UpdateMode mode = UpdateMode::merge;     // merge: RFC 7386 (null removes a field)
    std::optional<std::int64_t> if_version;  // only if the state is still at this version
    // Also move the state (activate … renew) in the same change: one version,
    // one history row and one event, named for the transition, so no reader
    // sees the data changed and the status not yet (the original framework's
    // update_state(id, new_data, transition)). The state must allow both
    // update and the transition.
    std::optional<Transition> transition;
};

struct ListFilter {
    std::optional<StateType> type;
    std::optional<Status> status;
    std::int64_t limit = 100;  // 1..k_max_page
    std::string cursor;        // a previous page's next_cursor, or empty for the first
};

struct StatePage {
    std::vector<State> states;
    // The cursor of the following page; nullopt on the last one.
    std::optional<std::string> next_cursor;
};

// Named states on the store. Every mutation checks the transition table and
// the state's own allowed list, bumps the version with a conditional UPDATE
// (… WHERE version = $n), appends a history row and an outbox event (topic
// "states/<id>"), all in one transaction: a failure changes nothing.
// A state whose TTL has passed is expired (history row and state.expired
// event) by expire_due(), or by the first read or change that meets it, so no
// caller ever sees a due state as anything but expired. Thread-safe; several
// processes may share the database.
//
// Errors: invalid_argument (bad id, data, limit, cursor, TTL or allowed
// list), not_found (no such state), conflict with details.reason "exists"
// (register of a taken id), "version_mismatch" (if_version differs, or a
// concurrent writer won) or "illegal_transition" (the table or the allowed
// list forbids it).
class StateService {
  public:
    StateService(store::Store& store, const Clock& clock);

    // Creates a state, active, at version 1 (or one past its last history row
    // when the id was used before and deleted).
    State register_state(const NewState& request, std::string_view actor);
    State get(std::string_view id);
    // Changes the data (transition "update").
    State update(const StateUpdate& request, std::string_view actor);
    // Applies every update in one transaction, in order: all of them or none.
    std::vector<State> update_many(const std::vector<StateUpdate>& requests,
                                   std::string_view actor);
    // activate, deactivate, suspend, resume, expire or renew. `ttl_ms` only
    // with renew: the new time to live (default: the state's own).
    State transition(std::string_view id, Transition t, std::optional<std::int64_t> if_version,
                     std::optional<std::int64_t> ttl_ms, std::string_view actor);
    // Deletes the state; its history stays (ending with a delete row).
    State remove(std::string_view id, std::optional<std::int64_t> if_version,
                 std::string_view actor);
    // The state's history, newest first, at most `limit` rows. Works for a
    // deleted state while its history exists.
    std::vector<HistoryEntry> history(std::string_view id, std::int64_t limit);
    // States in id order from the cursor on; stable while others are added.
    StatePage list(const ListFilter& filter);
    // Expires every state due at `now` in one transaction; returns how many.
    // Cheap (one indexed read) when none is due.
    std::int64_t expire_due(UnixMillis now);

  private:
    // One transition in one write transaction: load (expiring a due state
    // first), check the version and the table, apply `change`, write the row,
    // its history and its event.
    State mutate(std::string_view id, Transition t, std::optional<std::int64_t> if_version,
                 std::string_view actor, const std::function<void(State&)>& change);

    store::Store& m_store;
    const Clock& m_clock;
};

}  // namespace pb::states
