#include "common/states/service.hpp"

#include <algorithm>

#include "common/core/base64.hpp"
#include "common/core/error.hpp"
#include "common/events/outbox.hpp"
#include "common/states/rows.hpp"

namespace pb::states {
namespace {

using nlohmann::json;
using store::Connection;

void check_data(const json& data) {
    if (!data.is_object()) {
        throw Error(ErrorCode::invalid_argument, "data: expected a JSON object",
                    {{"param", "data"}});
    }
    if (data.dump().size() > k_max_data_bytes) {
        throw Error(ErrorCode::invalid_argument,
                    "data: larger than " + std::to_string(k_max_data_bytes / 1024) + " KiB",
                    {{"param", "data"}});
    }
}

void check_ttl(const std::optional<std::int64_t>& ttl_ms) {
    if (ttl_ms && *ttl_ms < 1000) {
        throw Error(ErrorCode::invalid_argument, "ttl: must be at least 1s", {{"param", "ttl"}});
    }
}

[[noreturn]] void not_found(std::string_view id) {
    throw Error(ErrorCode::not_found, "no state \"" + std::string(id) + "\"", {{"id", id}});
}

[[noreturn]] void version_mismatch(const std::string& id, std::int64_t expected,
                                   std::int64_t actual) {
    throw Error(ErrorCode::conflict,
                "state \"" + id + "\" is at version " + std::to_string(actual) + ", not " +
                    std::to_string(expected),
                {{"id", id},
                 {"reason", "version_mismatch"},
                 {"expected_version", expected},
                 {"version", actual}});
}

// Another writer changed the row between this transaction's read and its
// conditional write. On SQLite write transactions are serialized and this
// cannot happen; on PostgreSQL (read committed) it can, and the whole
// transaction is run again from a fresh read (run_with_retry).
struct LostRace : Error {
    using Error::Error;
};

[[noreturn]] void lost_race(const std::string& id) {
    throw LostRace(ErrorCode::conflict,
                   "state \"" + id + "\" was changed by someone else at the same time; try again",
                   {{"id", id}, {"reason", "version_mismatch"}});
}

// Each lost race means another writer's change committed, so retries make
// progress; the bound only guards against a livelock.
constexpr int k_max_attempts = 64;

template <class F>
auto run_with_retry(store::Store& st, F&& body) {
    for (int attempt = 1;; ++attempt) {
        try {
            return st.transaction(body);
        } catch (const LostRace&) {
            if (attempt == k_max_attempts) {
                throw;
            }
        }
    }
}

// Error(conflict) unless the table and the state's own list allow `t`.
void check_transition(const State& s, Transition t) {
    if (!s.permits(t)) {
        throw Error(ErrorCode::conflict,
                    "state \"" + s.id + "\" does not allow " + std::string(to_string(t)) +
                        " (its allowed transitions exclude it)",
                    {{"id", s.id},
                     {"reason", "illegal_transition"},
                     {"transition", to_string(t)},
                     {"status", to_string(s.status)}});
    }
    if (!legal_from(t, s.status)) {
        throw Error(ErrorCode::conflict,
                    "cannot " + std::string(to_string(t)) + " state \"" + s.id + "\": it is " +
                        std::string(to_string(s.status)),
                    {{"id", s.id},
                     {"reason", "illegal_transition"},
                     {"transition", to_string(t)},
                     {"status", to_string(s.status)}});
    }
}

// Writes `after` (one version past `before`), its history row and its event.
void commit_change(Connection& c, const State& after, std::int64_t before_version, Transition t,
                   std::string_view actor) {
    if (!rows::overwrite(c, after, before_version)) {
        lost_race(after.id);
    }
    rows::append_history(c, after, t, actor, after.updated_at);
    events::append(c, "states/" + after.id, event_type(t), after.to_json(), after.updated_at);
}

// Passes a due state to expired in place (history row, event). False, with
// nothing written, when another writer changed the row first.
bool try_expire(Connection& c, State& s, UnixMillis now) {
    const auto before = s.version;
    State after = s;
    after.status = Status::expired;
    after.version = before + 1;
    after.updated_at = now;
    after.updated_by = std::string(k_expiry_actor);
    if (!rows::overwrite(c, after, before)) {
        return false;
    }
    rows::append_history(c, after, Transition::expire, k_expiry_actor, now);
    events::append(c, "states/" + after.id, event_type(Transition::expire), after.to_json(), now);
    s = std::move(after);
    return true;
}

State load_settled(Connection& c, std::string_view id, UnixMillis now) {
    auto s = rows::load(c, id);
    if (!s) {
        not_found(id);
    }
    if (s->due(now) && !try_expire(c, *s, now)) {
        lost_race(s->id);
    }
    return std::move(*s);
}

// Error(invalid_argument) unless `t` moves a state's status (create, update
// and delete have their own calls) and `ttl_ms`, if given, comes with renew.
void check_status_transition(Transition t, std::optional<std::int64_t> ttl_ms) {
    if (t == Transition::create || t == Transition::update || t == Transition::remove) {
        throw Error(ErrorCode::invalid_argument,
                    "transition: use register, update or delete for " + std::string(to_string(t)),
                    {{"param", "transition"}});
    }
    if (ttl_ms && t != Transition::renew) {
        throw Error(ErrorCode::invalid_argument, "ttl: only with renew", {{"param", "ttl"}});
    }
    check_ttl(ttl_ms);
}

// renew restarts the state's time to live (`ttl_ms` replaces its own);
// other transitions leave it.
void apply_renew(State& s, Transition t, std::optional<std::int64_t> ttl_ms, UnixMillis now) {
    if (t != Transition::renew) {
        return;
    }
    if (ttl_ms) {
        if (!s.permits(Transition::expire)) {
            throw Error(ErrorCode::invalid_argument,
                        "ttl: state \"" + s.id + "\" does not allow expire", {{"param", "ttl"}});
        }
        s.ttl_ms = ttl_ms;
    }
    s.expires_at = s.ttl_ms ? std::optional(now + *s.ttl_ms) : std::nullopt;
}

json apply_update(const State& s, const StateUpdate& u) {
    json data = s.data;
    if (u.mode == UpdateMode::replace) {
        data = u.data;
    } else {
        data.merge_patch(u.data);
    }
    check_data(data);
    return data;
}

}  // namespace

StateService::StateService(store::Store& store, const Clock& clock)
    : m_store(store), m_clock(clock) {}

State StateService::register_state(const NewState& request, std::string_view actor) {
    check_id(request.id);
    check_data(request.data);
    check_ttl(request.ttl_ms);
    if (request.allowed) {
        if (request.allowed->empty()) {
            throw Error(ErrorCode::invalid_argument,
                        "allowed_transitions: give at least one, or none for the whole table",
                        {{"param", "allowed_transitions"}});
        }
        if (request.ttl_ms && std::find(request.allowed->begin(), request.allowed->end(),
                                        Transition::expire) == request.allowed->end()) {
            throw Error(ErrorCode::invalid_argument,
                        "ttl: the allowed transitions must include expire", {{"param", "ttl"}});
        }
    }
    const auto now = m_clock.now();
    State s;
    s.id = request.id;
    s.type = request.type;
    s.status = Status::active;
    s.data = request.data;
    s.allowed = request.allowed;
    s.created_at = s.updated_at = now;
    s.created_by = s.updated_by = std::string(actor);
    s.ttl_ms = request.ttl_ms;
    if (s.ttl_ms) {
        s.expires_at = now + *s.ttl_ms;
    }
    return m_store.transaction([&](Connection& c) {
        s.version = rows::last_history_version(c, s.id) + 1;
        if (!rows::insert(c, s)) {
            throw Error(ErrorCode::conflict, "state \"" + s.id + "\" already exists",
                        {{"id", s.id}, {"reason", "exists"}});
        }
        rows::append_history(c, s, Transition::create, actor, now);
        events::append(c, "states/" + s.id, event_type(Transition::create), s.to_json(), now);
        return s;
    });
}

State StateService::get(std::string_view id) {
    check_id(id);
    const auto now = m_clock.now();
    auto s =
        m_store.transaction([&](Connection& c) { return rows::load(c, id); }, store::TxMode::read);
    if (!s) {
        not_found(id);
    }
    if (!s->due(now)) {
        return std::move(*s);
    }
    // Expire it first, so what a reader sees is what history and events say.
    return run_with_retry(m_store, [&](Connection& c) { return load_settled(c, id, now); });
}

State StateService::mutate(std::string_view id, Transition t,
                           std::optional<std::int64_t> if_version, std::string_view actor,
                           const std::function<void(State&)>& change) {
    check_id(id);
    const auto now = m_clock.now();
    return run_with_retry(m_store, [&](Connection& c) {
        auto s = load_settled(c, id, now);
        if (if_version && *if_version != s.version) {
            version_mismatch(s.id, *if_version, s.version);
        }
        check_transition(s, t);
        const auto before = s.version;
        change(s);
        s.status = status_after(t, s.status);
        s.version = before + 1;
        s.updated_at = now;
        s.updated_by = std::string(actor);
        commit_change(c, s, before, t, actor);
        return s;
    });
}

State StateService::update(const StateUpdate& request, std::string_view actor) {
    check_data(request.data);
    if (!request.transition) {
        return mutate(request.id, Transition::update, request.if_version, actor,
                      [&](State& s) { s.data = apply_update(s, request); });
    }
    check_status_transition(*request.transition, std::nullopt);
    const auto now = m_clock.now();
    return mutate(request.id, *request.transition, request.if_version, actor, [&](State& s) {
        check_transition(s, Transition::update);
        s.data = apply_update(s, request);
        apply_renew(s, *request.transition, std::nullopt, now);
    });
}

std::vector<State> StateService::update_many(const std::vector<StateUpdate>& requests,
                                             std::string_view actor) {
    for (const auto& r : requests) {
        check_id(r.id);
        check_data(r.data);
    }
    const auto now = m_clock.now();
    return run_with_retry(m_store, [&](Connection& c) {
        std::vector<State> out;
        out.reserve(requests.size());
        for (const auto& r : requests) {
            auto s = load_settled(c, r.id, now);
            if (r.if_version && *r.if_version != s.version) {
                version_mismatch(s.id, *r.if_version, s.version);
            }
            check_transition(s, Transition::update);
            const auto before = s.version;
            s.data = apply_update(s, r);
            s.version = before + 1;
            s.updated_at = now;
            s.updated_by = std::string(actor);
            commit_change(c, s, before, Transition::update, actor);
            out.push_back(std::move(s));
        }
        return out;
    });
}

State StateService::transition(std::string_view id, Transition t,
                               std::optional<std::int64_t> if_version,
                               std::optional<std::int64_t> ttl_ms, std::string_view actor) {
    check_status_transition(t, ttl_ms);
    const auto now = m_clock.now();
    return mutate(id, t, if_version, actor, [&](State& s) { apply_renew(s, t, ttl_ms, now); });
}

State StateService::remove(std::string_view id, std::optional<std::int64_t> if_version,
                           std::string_view actor) {
    check_id(id);
    const auto now = m_clock.now();
    return run_with_retry(m_store, [&](Connection& c) {
        auto s = load_settled(c, id, now);
        if (if_version && *if_version != s.version) {
            version_mismatch(s.id, *if_version, s.version);
        }
        check_transition(s, Transition::remove);
        if (!rows::erase(c, s.id, s.version)) {
            lost_race(s.id);
        }
        // The delete row takes the next version, so a later register of the
        // same id continues after it.
        s.version += 1;
        s.updated_at = now;
        s.updated_by = std::string(actor);
        rows::append_history(c, s, Transition::remove, actor, now);
        events::append(c, "states/" + s.id, event_type(Transition::remove), s.to_json(), now);
        return s;
    });
}

std::vector<HistoryEntry> StateService::history(std::string_view id, std::int64_t limit) {
    check_id(id);
    if (limit < 1) {
        throw Error(ErrorCode::invalid_argument, "limit: must be at least 1", {{"param", "limit"}});
    }
    // A due state's history must already end with its expiry.
    const auto now = m_clock.now();
    const auto current =
        m_store.transaction([&](Connection& c) { return rows::load(c, id); }, store::TxMode::read);
    if (current && current->due(now)) {
        get(id);
    }
    auto out = m_store.transaction([&](Connection& c) { return rows::history(c, id, limit); },
                                   store::TxMode::read);
    if (out.empty()) {
        not_found(id);
    }
    return out;
}

StatePage StateService::list(const ListFilter& filter) {
    if (filter.limit < 1 || filter.limit > k_max_page) {
        throw Error(ErrorCode::invalid_argument,
                    "limit: must be between 1 and " + std::to_string(k_max_page),
                    {{"param", "limit"}});
    }
    std::string after;
    if (!filter.cursor.empty()) {
        const auto decoded = base64url_decode(filter.cursor);
        if (!decoded || decoded->size() < 3 || !decoded->starts_with("id:")) {
            throw Error(ErrorCode::invalid_argument,
                        "cursor: not a cursor from a previous states list", {{"param", "cursor"}});
        }
        after = decoded->substr(3);
    }
    // Filters by status must not count a due state as still active.
    expire_due(m_clock.now());
    auto found = m_store.transaction(
        [&](Connection& c) {
            return rows::page(c, filter.type, filter.status, after, filter.limit + 1);
        },
        store::TxMode::read);
    StatePage out;
    if (static_cast<std::int64_t>(found.size()) > filter.limit) {
        found.resize(static_cast<std::size_t>(filter.limit));
        out.next_cursor = base64url_encode("id:" + found.back().id);
    }
    out.states = std::move(found);
    return out;
}

std::int64_t StateService::expire_due(UnixMillis now) {
    const bool any = m_store.transaction([&](Connection& c) { return rows::any_due(c, now); },
                                         store::TxMode::read);
    if (!any) {
        return 0;
    }
    return m_store.transaction([&](Connection& c) {
        std::int64_t n = 0;
        for (auto& s : rows::due(c, now)) {
            // A row another writer changed meanwhile is left to the next sweep.
            n += try_expire(c, s, now) ? 1 : 0;
        }
        return n;
    });
}

}  // namespace pb::states
