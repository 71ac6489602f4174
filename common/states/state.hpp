#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/core/clock.hpp"

namespace pb::states {

// What a state describes (the original StateType values).
enum class StateType { system, user, session, resource, feature, subscription };

// Where a state stands. Every state is in exactly one.
enum class Status { active, inactive, suspended, expired };

// Every change to a state is one of these (the original StateTransition values).
enum class Transition {
    create,
    update,
    remove,  // "delete"
    activate,
    deactivate,
    suspend,
    resume,
    expire,
    renew,
};

inline constexpr std::array k_all_types{StateType::system,  StateType::user,
                                        StateType::session, StateType::resource,
                                        StateType::feature, StateType::subscription};
inline constexpr std::array k_all_statuses{Status::active, Status::inactive, Status::suspended,
                                           Status::expired};
inline constexpr std::array k_all_transitions{
    Transition::create,   Transition::update,     Transition::remove,
    Transition::activate, Transition::deactivate, Transition::suspend,
    Transition::resume,   Transition::expire,     Transition::renew};

std::string_view to_string(StateType t);
std::string_view to_string(Status s);
std::string_view to_string(Transition t);
std::optional<StateType> type_from_string(std::string_view text);
std::optional<Status> status_from_string(std::string_view text);
std::optional<Transition> transition_from_string(std::string_view text);

// The event type a transition publishes: state.created, state.updated,
// state.deleted, state.activated, …, state.expired, state.renewed.
std::string event_type(Transition t);

// The transition table: true when `t` may be applied to a state in `from`
// (create applies to no state and is never legal here). README.md documents it.
bool legal_from(Transition t, Status from);
// The status a state has after `t` (update and delete keep it).
Status status_after(Transition t, Status from);

// Throws Error(invalid_argument) unless `id` is 1–200 characters of letters,
// digits and . _ - : @ (it appears in URLs and event topics).
void check_id(std::string_view id);

// A named JSON document with a type, a status and a version.
struct State {
    std::string id;
    StateType type = StateType::system;
    Status status = Status::active;
    nlohmann::json data = nlohmann::json::object();
    std::int64_t version = 0;
    // nullopt: every transition the table allows; otherwise only these.
    std::optional<std::vector<Transition>> allowed;
    UnixMillis created_at = 0;
    std::string created_by;
    UnixMillis updated_at = 0;
    std::string updated_by;
    std::optional<UnixMillis> expires_at;  // passes to expired by itself at this time
    std::optional<std::int64_t> ttl_ms;    // renew sets expires_at = now + ttl_ms

    // True when the explicit list (if any) permits `t`.
    bool permits(Transition t) const;
    // True when the state should pass to expired at `now` and has not yet.
    bool due(UnixMillis now) const {
        return status != Status::expired && expires_at && *expires_at <= now;
    }
    // The public view: times as RFC 3339.
    nlohmann::json to_json() const;
    // The JSON Schema of to_json() ("State").
    static nlohmann::json schema();
};

// One row of a state's append-only history.
struct HistoryEntry {
    std::int64_t version = 0;
    Transition transition = Transition::create;
    Status status = Status::active;  // after the transition
    nlohmann::json data;             // the state's data after the transition
    std::string actor;
    UnixMillis at = 0;

    nlohmann::json to_json() const;
    // The JSON Schema of to_json() ("StateHistoryEntry").
    static nlohmann::json schema();
};

}  // namespace pb::states
