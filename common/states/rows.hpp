#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/states/state.hpp"
#include "common/store/store.hpp"

// The SQL of states: one text for SQLite and PostgreSQL ($N placeholders,
// ON CONFLICT, integer times, JSON as text). Every function runs inside the
// caller's transaction.
namespace pb::states::rows {

// The state with `id`, or nullopt.
std::optional<State> load(store::Connection& c, std::string_view id);

// The highest version the id's history holds (0 when none): a re-registered
// id continues from it, so versions never repeat within a history.
std::int64_t last_history_version(store::Connection& c, std::string_view id);

// Inserts a new state; false (and nothing written) when the id is taken.
bool insert(store::Connection& c, const State& s);

// Writes `after` over the row still at `expected_version`; false when the row
// moved on or is gone (a concurrent writer won).
bool overwrite(store::Connection& c, const State& after, std::int64_t expected_version);

// Deletes the row still at `expected_version`; false when it moved on or is gone.
bool erase(store::Connection& c, std::string_view id, std::int64_t expected_version);

// Appends one history row.
void append_history(store::Connection& c, const State& s, Transition t, std::string_view actor,
                    UnixMillis at);

// The newest `limit` history rows of `id`, newest first.
std::vector<HistoryEntry> history(store::Connection& c, std::string_view id, std::int64_t limit);

// True when some state is due to expire at `now`.
bool any_due(store::Connection& c, UnixMillis now);
// Every state due to expire at `now`, soonest first.
std::vector<State> due(store::Connection& c, UnixMillis now);

// At most `limit` states with id > `after`, in id order, filtered.
std::vector<State> page(store::Connection& c, std::optional<StateType> type,
                        std::optional<Status> status, std::string_view after, std::int64_t limit);

}  // namespace pb::states::rows
