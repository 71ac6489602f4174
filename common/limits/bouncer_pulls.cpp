#include "common/limits/bouncer_pulls.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

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

std::int64_t puller_id(Connection& c, std::string_view actor, std::string_view address,
                       UnixMillis now) {
    return c
        .query(
            "INSERT INTO bouncer_pullers (actor, address, first_pull_at, last_pull_at) VALUES "
            "($1, $2, $3, $3) ON CONFLICT (actor, address) DO UPDATE SET last_pull_at = "
            "excluded.last_pull_at RETURNING id",
            {std::string(actor), std::string(address), now})
        .front()
        .get_int(0);
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

}  // namespace

json BouncerPulls::pull(std::string_view actor, std::string_view address, bool startup,
                        const crowdsec::DecisionFilter& filter) {
    const auto now = m_clock.now();
    return m_store.transaction(
        [&](Connection& c) {
            if (startup) {
                forget_stale(c, now - k_stale_ms);
            }
            const auto puller = puller_id(c, actor, address, now);
            std::map<std::int64_t, Ban> sent;
            for (const auto& r : c.query(k_sent_as_ban, {puller})) {
                auto b = detail::ban_from_row(r);
                sent.emplace(b.id, std::move(b));
            }
            std::vector<Ban> in_force;
            for (const auto& r : c.query(detail::select_bans("kind IN ('ip', 'range') AND "
                                                             "(expires_at IS NULL OR expires_at "
                                                             "> $1) ORDER BY id"),
                                         {now})) {
                auto b = detail::ban_from_row(r);
                if (filter.matches(b)) {
                    in_force.push_back(std::move(b));
                }
            }

            json added = json::array();
            std::vector<const Ban*> to_insert;
            std::vector<std::int64_t> to_delete;
            std::set<std::string> added_targets;
            std::set<std::int64_t> kept;
            for (const auto& b : in_force) {
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
                // Removed and banned again (a new id) in one interval: the
                // bouncer keeps the address banned, by the new decision only.
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
