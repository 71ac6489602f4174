#include "common/states/rows.hpp"

#include "common/core/error.hpp"
#include "common/core/json_parse.hpp"

namespace pb::states::rows {
namespace {

using nlohmann::json;
using store::Connection;
using store::nullable;

// A macro so each statement is one literal, assembled at compile time.
#define PB_STATE_COLUMNS                                                                         \
    "id, type, status, data, allowed, version, created_at, created_by, updated_at, updated_by, " \
    "expires_at, ttl_ms"

// A stored value that does not parse is a bug or a hand-edited row: internal.
[[noreturn]] void corrupt(const std::string& id, std::string_view what) {
    throw Error(ErrorCode::internal,
                "state \"" + id + "\" has an unreadable " + std::string(what) + " in the database",
                {{"id", id}});
}

State from_row(const store::Row& r) {
    State s;
    s.id = r.get_text(0);
    const auto type = type_from_string(r.get_text(1));
    const auto status = status_from_string(r.get_text(2));
    if (!type || !status) {
        corrupt(s.id, "type or status");
    }
    s.type = *type;
    s.status = *status;
    s.data = parse_json_or_discarded(r.get_text(3), {k_max_stored_json_depth});
    if (!s.data.is_object()) {
        corrupt(s.id, "data");
    }
    if (const auto allowed = r.get_opt_text(4)) {
        const auto list = parse_json_or_discarded(*allowed, {k_max_stored_json_depth});
        if (!list.is_array()) {
            corrupt(s.id, "allowed list");
        }
        s.allowed.emplace();
        for (const auto& name : list) {
            const auto t =
                name.is_string() ? transition_from_string(name.get<std::string>()) : std::nullopt;
            if (!t) {
                corrupt(s.id, "allowed list");
            }
            s.allowed->push_back(*t);
        }
    }
    s.version = r.get_int(5);
    s.created_at = r.get_int(6);
    s.created_by = r.get_text(7);
    s.updated_at = r.get_int(8);
    s.updated_by = r.get_text(9);
    s.expires_at = r.get_opt_int(10);
    s.ttl_ms = r.get_opt_int(11);
    return s;
}

std::vector<State> from_rows(const store::Rows& rows) {
    std::vector<State> out;
    out.reserve(rows.size());
    for (const auto& r : rows) {
        out.push_back(from_row(r));
    }
    return out;
}

store::Value allowed_value(const State& s) {
    if (!s.allowed) {
        return nullptr;
    }
    json list = json::array();
    for (const auto t : *s.allowed) {
        list.push_back(to_string(t));
    }
    return list.dump();
}

template <class T>
store::Value text_or_null(const std::optional<T>& v) {
    return v ? store::Value(std::string(to_string(*v))) : store::Value(nullptr);
}

}  // namespace

std::optional<State> load(Connection& c, std::string_view id) {
    const auto rows =
        c.query("SELECT " PB_STATE_COLUMNS " FROM states WHERE id = $1", {std::string(id)});
    if (rows.empty()) {
        return std::nullopt;
    }
    return from_row(rows.front());
}

std::int64_t last_history_version(Connection& c, std::string_view id) {
    return c
        .query("SELECT COALESCE(MAX(version), 0) FROM state_history WHERE state_id = $1",
               {std::string(id)})
        .front()
        .get_int(0);
}

bool insert(Connection& c, const State& s) {
    return c.exec("INSERT INTO states (" PB_STATE_COLUMNS
                  ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT "
                  "(id) DO NOTHING",
                  {s.id, std::string(to_string(s.type)), std::string(to_string(s.status)),
                   s.data.dump(), allowed_value(s), s.version, s.created_at, s.created_by,
                   s.updated_at, s.updated_by, nullable(s.expires_at), nullable(s.ttl_ms)}) == 1;
}

bool overwrite(Connection& c, const State& after, std::int64_t expected_version) {
    return c.exec(
               "UPDATE states SET status = $2, data = $3, version = $4, updated_at = $5, "
               "updated_by = $6, expires_at = $7, ttl_ms = $8 WHERE id = $1 AND version = $9",
               {after.id, std::string(to_string(after.status)), after.data.dump(), after.version,
                after.updated_at, after.updated_by, nullable(after.expires_at),
                nullable(after.ttl_ms), expected_version}) == 1;
}

bool erase(Connection& c, std::string_view id, std::int64_t expected_version) {
    return c.exec("DELETE FROM states WHERE id = $1 AND version = $2",
                  {std::string(id), expected_version}) == 1;
}

void append_history(Connection& c, const State& s, Transition t, std::string_view actor,
                    UnixMillis at) {
    c.exec(
        "INSERT INTO state_history (state_id, version, transition, status, data, actor, at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7)",
        {s.id, s.version, std::string(to_string(t)), std::string(to_string(s.status)),
         s.data.dump(), std::string(actor), at});
}

std::vector<HistoryEntry> history(Connection& c, std::string_view id, std::int64_t limit) {
    const auto rows = c.query(
        "SELECT version, transition, status, data, actor, at FROM state_history WHERE state_id = "
        "$1 ORDER BY version DESC, id DESC LIMIT $2",
        {std::string(id), limit});
    std::vector<HistoryEntry> out;
    out.reserve(rows.size());
    for (const auto& r : rows) {
        HistoryEntry h;
        h.version = r.get_int(0);
        const auto t = transition_from_string(r.get_text(1));
        const auto status = status_from_string(r.get_text(2));
        h.data = parse_json_or_discarded(r.get_text(3), {k_max_stored_json_depth});
        if (!t || !status || h.data.is_discarded()) {
            corrupt(std::string(id), "history row");
        }
        h.transition = *t;
        h.status = *status;
        h.actor = r.get_text(4);
        h.at = r.get_int(5);
        out.push_back(std::move(h));
    }
    return out;
}

bool any_due(Connection& c, UnixMillis now) {
    return !c.query("SELECT id FROM states WHERE expires_at <= $1 AND status <> 'expired' LIMIT 1",
                    {now})
                .empty();
}

std::vector<State> due(Connection& c, UnixMillis now) {
    return from_rows(c.query("SELECT " PB_STATE_COLUMNS
                             " FROM states WHERE expires_at <= $1 AND status <> 'expired' "
                             "ORDER BY expires_at, id",
                             {now}));
}

std::vector<State> page(Connection& c, std::optional<StateType> type, std::optional<Status> status,
                        std::string_view after, std::int64_t limit) {
    return from_rows(
        c.query("SELECT " PB_STATE_COLUMNS
                " FROM states WHERE id > $1 AND (CAST($2 AS TEXT) IS NULL OR "
                "type = $2) AND (CAST($3 AS TEXT) IS NULL OR status = $3) "
                "ORDER BY id LIMIT $4",
                {std::string(after), text_or_null(type), text_or_null(status), limit}));
}

}  // namespace pb::states::rows
