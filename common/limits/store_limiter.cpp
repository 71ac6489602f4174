#include "common/limits/store_limiter.hpp"

#include <algorithm>

namespace pb::limits {

using store::Connection;

// The row, locked for the rest of the transaction when `lock`: an upsert
// that changes nothing takes the row's lock (PostgreSQL; a new identifier
// gets its row first), so concurrent checks of one identifier queue on it
// and each reads the last one's write; SQLite serialises writers anyway
// (BEGIN IMMEDIATE), so there it is not needed.
StoreLimiter::Row StoreLimiter::read_row(Connection& c, std::string_view scope, std::string_view id,
                                         bool lock) {
    if (lock && c.dialect() == store::Dialect::postgresql) {
        c.exec(
            "INSERT INTO limit_counters (scope, id, tat_us, idle_at) VALUES ($1, $2, 0, 0) "
            "ON CONFLICT (scope, id) DO UPDATE SET tat_us = limit_counters.tat_us",
            {std::string(scope), std::string(id)});
    }
    const auto rows = c.query(
        "SELECT tat_us, violations, violations_until_ms FROM limit_counters "
        "WHERE scope = $1 AND id = $2",
        {std::string(scope), std::string(id)});
    if (rows.empty()) {
        return {};
    }
    return Row{rows[0].get_int(0), rows[0].get_int(1), rows[0].get_int(2), true};
}

void StoreLimiter::write_row(Connection& c, std::string_view scope, std::string_view id,
                             const Row& row) {
    // Idle from this time on: refilled, and no violation window open.
    const std::int64_t idle_at_ms = std::max((row.tat_us + 999) / 1000, row.violations_until_ms);
    c.exec(
        "INSERT INTO limit_counters (scope, id, tat_us, violations, violations_until_ms, "
        "idle_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (scope, id) DO UPDATE SET "
        "tat_us = excluded.tat_us, violations = excluded.violations, "
        "violations_until_ms = excluded.violations_until_ms, idle_at = excluded.idle_at",
        {std::string(scope), std::string(id), row.tat_us, row.violations, row.violations_until_ms,
         idle_at_ms});
}

StoreLimiter::StoreLimiter(store::Store& store, const Clock& clock)
    : m_store(store), m_clock(clock) {}

LimitResult StoreLimiter::check(std::string_view scope, std::string_view id, const Policy& policy,
                                std::int64_t cost, const ViolationRule& rule) {
    check_cost(policy, cost);
    // Read (locked), decide, write, in one transaction.
    return m_store.transaction(
        [&](Connection& c) {
            const std::int64_t now_ms = m_clock.now();
            const std::int64_t now = now_ms * 1000;
            Row row = read_row(c, scope, id, true);
            const std::int64_t tat = row.found ? std::max(row.tat_us, now) : now;
            LimitResult r = gcra_answer(policy, tat, now, cost, true);
            if (r.allowed) {
                row.tat_us = tat + cost * policy.interval_us();
            } else if (rule.threshold > 0 && row.found) {
                // As in memory: violations count only for an identifier that
                // has been spending (a row exists).
                if (row.violations_until_ms <= now_ms) {
                    row.violations = 0;
                    row.violations_until_ms = now_ms + rule.window_ms;
                }
                if (++row.violations >= rule.threshold) {
                    row.violations = 0;
                    row.violations_until_ms = 0;
                    r.ban_due = true;
                }
            } else {
                return r;  // nothing to write
            }
            write_row(c, scope, id, row);
            return r;
        },
        store::TxMode::write);
}

LimitResult StoreLimiter::status(std::string_view scope, std::string_view id,
                                 const Policy& policy) const {
    const auto row = m_store.transaction(
        [&](Connection& c) { return read_row(c, scope, id, false); }, store::TxMode::read);
    const std::int64_t now = m_clock.now() * 1000;
    return gcra_answer(policy, row.found ? std::max(row.tat_us, now) : now, now, 1, false);
}

bool StoreLimiter::reset(std::string_view scope, std::string_view id) {
    return m_store.transaction([&](Connection& c) {
        return c.exec("DELETE FROM limit_counters WHERE scope = $1 AND id = $2",
                      {std::string(scope), std::string(id)}) > 0;
    });
}

std::int64_t StoreLimiter::purge_idle() {
    const auto now_ms = m_clock.now();
    return m_store.transaction([&](Connection& c) {
        return c.exec("DELETE FROM limit_counters WHERE idle_at <= $1", {now_ms});
    });
}

}  // namespace pb::limits
