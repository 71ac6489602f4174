#include "common/limits/bouncer_pulls.hpp"

#include <algorithm>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "common/events/outbox.hpp"
#include "common/limits/ban_rows.hpp"

namespace pb::limits {
namespace {

using nlohmann::json;
using store::Connection;

// Rows per multi-row INSERT or IN (…): far below SQLite's and PostgreSQL's
// parameter limits, and a startup pull of 100,000 bans in 1,000 statements.
constexpr std::size_t k_chunk = 100;

// A sent row read as a ban (ban_from_row's column order).
constexpr std::string_view k_sent_as_ban =
    "SELECT ban_id, kind, value, reason, origin, '', 0, expires_at, 1 FROM bouncer_sent "
    "WHERE puller_id = $1";

struct Puller {
    std::int64_t id = 0;
    std::optional<std::int64_t> position;  // outbox seq its set reflects; none: unknown
    std::string filter;                    // DecisionFilter::key() of its last pull
};

Puller find_puller(Connection& c, std::string_view actor, std::string_view address,
                   UnixMillis now) {
    const auto rows = c.query(
        "INSERT INTO bouncer_pullers (actor, address, first_pull_at, last_pull_at) VALUES ($1, "
        "$2, $3, $3) ON CONFLICT (actor, address) DO UPDATE SET last_pull_at = "
        "excluded.last_pull_at RETURNING id, outbox_seq, filter",
        {std::string(actor), std::string(address), now});
    const auto& r = rows.front();
    return {r.get_int(0), r.is_null(1) ? std::nullopt : std::optional(r.get_int(1)), r.get_text(2)};
}

// The highest seq below which no change can still commit: that of the newest
// event older than k_commit_gap_wait (events.hpp: a younger one may still
// have a lower seq uncommitted). Walks back from the newest, a page at a time;
// none within k_position_walk events (a flood of changes): unknown.
std::optional<std::int64_t> settled_position(Connection& c, UnixMillis now) {
    constexpr int k_page = 256;
    constexpr int k_position_walk = 16 * k_page;
    const auto cutoff = now - events::k_commit_gap_wait.count();
    std::int64_t below = std::numeric_limits<std::int64_t>::max();
    for (int walked = 0; walked < k_position_walk; walked += k_page) {
        const auto rows = c.query(
            "SELECT seq, created_at FROM events WHERE seq < $1 ORDER BY "
            "seq DESC LIMIT " +
                std::to_string(k_page),
            {below});
        for (const auto& r : rows) {
            if (r.get_int(1) < cutoff) {
                return r.get_int(0);
            }
            below = r.get_int(0);
        }
        if (rows.size() < static_cast<std::size_t>(k_page)) {
            return 0;  // every event is younger: none is settled yet
        }
    }
    return std::nullopt;
}

void insert_sent(Connection& c, std::int64_t puller, const std::vector<const Ban*>& bans) {
    for (std::size_t i = 0; i < bans.size(); i += k_chunk) {
        std::string sql =
            "INSERT INTO bouncer_sent (puller_id, ban_id, kind, value, reason, origin, "
            "expires_at) VALUES ";
        store::Params params{puller};
        const auto end = std::min(bans.size(), i + k_chunk);
        for (auto j = i; j < end; ++j) {
            const auto& b = *bans[j];
            const auto n = params.size();
            sql += (j == i ? "" : ", ") + std::string("($1, $") + std::to_string(n + 1) + ", $" +
                   std::to_string(n + 2) + ", $" + std::to_string(n + 3) + ", $" +
                   std::to_string(n + 4) + ", $" + std::to_string(n + 5) + ", $" +
                   std::to_string(n + 6) + ")";
            params.emplace_back(b.id);
            params.emplace_back(std::string(to_string(b.target.kind)));
            params.emplace_back(b.target.value);
            params.emplace_back(b.reason);
            params.emplace_back(std::string(to_string(b.origin)));
            params.emplace_back(store::nullable(b.expires_at));
        }
        c.exec(sql, params);
    }
}

void delete_sent(Connection& c, std::int64_t puller, const std::vector<std::int64_t>& ids) {
    for (std::size_t i = 0; i < ids.size(); i += k_chunk) {
        std::string sql = "DELETE FROM bouncer_sent WHERE puller_id = $1 AND ban_id IN (";
        store::Params params{puller};
        const auto end = std::min(ids.size(), i + k_chunk);
        for (auto j = i; j < end; ++j) {
            params.emplace_back(ids[j]);
            sql += (j == i ? "$" : ", $") + std::to_string(params.size());
        }
        c.exec(sql + ")", params);
    }
}

void forget_stale(Connection& c, UnixMillis cutoff) {
    c.exec(
        "DELETE FROM bouncer_sent WHERE puller_id IN (SELECT id FROM bouncer_pullers WHERE "
        "last_pull_at < $1)",
        {cutoff});
    c.exec("DELETE FROM bouncer_pullers WHERE last_pull_at < $1", {cutoff});
}

// CrowdSec answers an empty list as null.
json list_or_null(json list) {
    return list.empty() ? json(nullptr) : list;
}

using SentMap = std::map<std::int64_t, Ban>;

void read_sent(Connection& c, std::string_view where, const store::Params& params, SentMap& into) {
    for (const auto& r : c.query(std::string(k_sent_as_ban).append(where), params)) {
        auto b = detail::ban_from_row(r);
        into.emplace(b.id, std::move(b));
    }
}

bool in_force(const Ban& b, const crowdsec::DecisionFilter& filter, UnixMillis now) {
    return (b.target.kind == BanKind::ip || b.target.kind == BanKind::range) && b.active(now) &&
           filter.matches(b);
}

// Tells the puller the difference between `sent` (what it holds, of the bans
// compared) and `current` (those of them in force now), and stores what it
// holds from now on. `startup`: it holds nothing, so everything is new.
json answer(Connection& c, std::int64_t puller, const SentMap& sent,
            const std::vector<Ban>& current, bool startup, UnixMillis now) {
    json added = json::array();
    std::vector<const Ban*> to_insert;
    std::vector<std::int64_t> to_delete;
    std::set<std::string> added_targets;
    std::set<std::int64_t> kept;
    for (const auto& b : current) {
        const auto it = sent.find(b.id);
        const bool same = it != sent.end() && it->second.expires_at == b.expires_at;
        if (same) {
            kept.insert(b.id);
        }
        if (!same || startup) {
            added.push_back(crowdsec::decision_json(b, now));
            added_targets.insert(b.target.text());
        }
        if (!same) {
            if (it != sent.end()) {
                to_delete.push_back(b.id);  // sent with another expiry: replaced
                kept.insert(b.id);
            }
            to_insert.push_back(&b);
        }
    }
    json deleted = json::array();
    for (const auto& [id, b] : sent) {
        if (kept.contains(id)) {
            continue;
        }
        to_delete.push_back(id);
        // Removed and banned again (a new id) in one interval: the bouncer
        // keeps the address banned, by the new decision only.
        if (added_targets.contains(b.target.text())) {
            continue;
        }
        auto d = crowdsec::decision_json(b, now);
        // A removed ban is over now; an expired one tells how long ago.
        if (!b.expires_at || *b.expires_at > now) {
            d["duration"] = "0s";
        }
        deleted.push_back(std::move(d));
    }
    delete_sent(c, puller, to_delete);
    insert_sent(c, puller, to_insert);
    return json{{"new", list_or_null(std::move(added))},
                {"deleted", list_or_null(std::move(deleted))}};
}

// Every ban in force against everything the puller holds.
json full_pull(Connection& c, std::int64_t puller, bool startup,
               const crowdsec::DecisionFilter& filter, UnixMillis now) {
    SentMap sent;
    read_sent(c, "", {puller}, sent);
    std::vector<Ban> current;
    for (const auto& r : c.query(detail::select_bans("kind IN ('ip', 'range') AND (expires_at IS "
                                                     "NULL OR expires_at > $1) ORDER BY id"),
                                 {now})) {
        auto b = detail::ban_from_row(r);
        if (filter.matches(b)) {
            current.push_back(std::move(b));
        }
    }
    return answer(c, puller, sent, current, startup, now);
}

// `ids` as "$n, $n+1, …", their values appended to `params`.
std::string id_list(store::Params& params, std::span<const std::int64_t> ids) {
    std::string out;
    for (const auto id : ids) {
        params.emplace_back(id);
        out += (out.empty() ? "$" : ", $") + std::to_string(params.size());
    }
    return out;
}

// Only the bans the "bans" events after the puller's position name, and the
// decisions it holds that expired; nullopt when those cannot be known
// (pruned events after its position) or are too many to be worth it.
std::optional<json> delta_pull(Connection& c, const Puller& puller, std::int64_t& position,
                               const crowdsec::DecisionFilter& filter, UnixMillis now) {
    if (events::oldest_seq(c) > position + 1) {
        return std::nullopt;  // pruned since: some changes are gone from the outbox
    }
    std::set<std::int64_t> changed;
    for (;;) {
        const auto page = events::read_page(c, position, 1000, "bans", now);
        for (const auto& e : page.events) {
            const auto id = e.data.find("id");
            if (id == e.data.end() || !id->is_number_integer()) {
                return std::nullopt;
            }
            changed.insert(id->get<std::int64_t>());
        }
        if (changed.size() > BouncerPulls::k_delta_max) {
            return std::nullopt;
        }
        const bool moved = page.position > position;
        position = std::max(position, page.position);
        if (!page.more || !moved) {
            break;  // the end, or a young gap: the next pull goes on from it
        }
    }
    SentMap sent;
    read_sent(c, " AND expires_at IS NOT NULL AND expires_at <= $2", {puller.id, now}, sent);
    std::vector<Ban> current;
    const std::vector<std::int64_t> ids(changed.begin(), changed.end());
    for (std::size_t i = 0; i < ids.size(); i += k_chunk) {
        const auto chunk = std::span(ids).subspan(i, std::min(k_chunk, ids.size() - i));
        store::Params params{puller.id};
        read_sent(c, " AND ban_id IN (" + id_list(params, chunk) + ")", params, sent);
        params.clear();
        for (const auto& r :
             c.query(detail::select_bans("id IN (" + id_list(params, chunk) + ")"), params)) {
            auto b = detail::ban_from_row(r);
            if (in_force(b, filter, now)) {
                current.push_back(std::move(b));
            }
        }
    }
    return answer(c, puller.id, sent, current, false, now);
}

}  // namespace

std::mutex& BouncerPulls::turn_of(std::string_view actor, std::string_view address) {
    const auto h = std::hash<std::string_view>{}(actor)*31 + std::hash<std::string_view>{}(address);
    return m_turns[h % m_turns.size()];
}

json BouncerPulls::pull(std::string_view actor, std::string_view address, bool startup,
                        const crowdsec::DecisionFilter& filter) {
    const std::lock_guard turn(turn_of(actor, address));
    const auto now = m_clock.now();
    const auto filter_key = filter.key();
    return m_store.transaction(
        [&](Connection& c) {
            if (startup) {
                forget_stale(c, now - k_stale_ms);
            }
            const auto puller = find_puller(c, actor, address, now);
            std::optional<json> out;
            std::optional<std::int64_t> position = puller.position;
            if (!startup && position && puller.filter == filter_key) {
                out = delta_pull(c, puller, *position, filter, now);
            }
            if (!out) {
                position = settled_position(c, now);
                out = full_pull(c, puller.id, startup, filter, now);
            }
            c.exec("UPDATE bouncer_pullers SET outbox_seq = $1, filter = $2 WHERE id = $3",
                   {store::nullable(position), filter_key, puller.id});
            return std::move(*out);
        },
        store::TxMode::serializable);
}

std::int64_t BouncerPulls::forget(std::string_view actor) {
    return m_store.transaction([&](Connection& c) {
        c.exec(
            "DELETE FROM bouncer_sent WHERE puller_id IN (SELECT id FROM bouncer_pullers WHERE "
            "actor = $1)",
            {std::string(actor)});
        return c.exec("DELETE FROM bouncer_pullers WHERE actor = $1", {std::string(actor)});
    });
}

}  // namespace pb::limits
