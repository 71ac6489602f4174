#include "daemon/metrics/store_metrics.hpp"

#include <algorithm>
#include <cstdio>
#include <optional>

#include "common/core/error.hpp"
#include "common/events/outbox.hpp"
#include "common/store/store_stats.hpp"
#include "daemon/metrics/prometheus_text.hpp"

namespace pb::daemon {
namespace {

std::string seconds(std::uint64_t ns) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.9f", static_cast<double>(ns) / 1e9);
    return buf;
}

void append_histogram(std::string& out, std::string_view name, std::string_view help,
                      std::string_view labels, const LatencyHistogram& h) {
    append_family(out, name, "histogram", help);
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < LatencyHistogram::k_buckets; ++i) {
        cumulative += h.bucket(i);
        out += name;
        out += "_bucket{";
        out += labels;
        out += ",le=\"";
        out += LatencyHistogram::k_bound_labels[i];
        out += "\"} ";
        out += std::to_string(cumulative);
        out += '\n';
    }
    out += name;
    out += "_sum{";
    out += labels;
    out += "} ";
    out += seconds(h.sum_ns());
    out += '\n';
    out += name;
    out += "_count{";
    out += labels;
    out += "} ";
    out += std::to_string(cumulative);
    out += '\n';
}

}  // namespace

void append_store_metrics(const store::Store& store, std::string& out) {
    const auto* stats = store::stats_of(store);
    if (stats == nullptr) {
        return;
    }
    const auto& s = *stats;
    const std::string labels =
        store.dialect() == store::Dialect::sqlite ? "dialect=\"sqlite\"" : "dialect=\"postgres\"";
    const std::string braced = "{" + labels + "}";
    append_histogram(out, "pb_db_query_duration_seconds",
                     "Time each SQL statement took (BEGIN and COMMIT excepted), by dialect.",
                     labels, s.statements);
    append_histogram(out, "pb_db_transaction_duration_seconds",
                     "Time each transaction took: waiting for a connection, its statements, the "
                     "commit and any retries.",
                     labels, s.transactions);
    append_family(out, "pb_db_pool_connections", "gauge", "Connections in the pool.");
    append_sample(out, "pb_db_pool_connections", braced, s.pool_size);
    append_family(out, "pb_db_pool_in_use", "gauge", "Pool connections leased now.");
    append_sample(out, "pb_db_pool_in_use", braced, s.pool_in_use.load(std::memory_order_relaxed));
    append_family(out, "pb_db_pool_waits_total", "counter",
                  "Leases that found every pooled connection busy and waited.");
    append_sample(out, "pb_db_pool_waits_total", braced,
                  s.pool_waits.load(std::memory_order_relaxed));
    append_family(out, "pb_db_pool_wait_seconds_total", "counter",
                  "Time those leases waited for a connection.");
    out += "pb_db_pool_wait_seconds_total" + braced + " " +
           seconds(s.pool_wait_ns.load(std::memory_order_relaxed)) + "\n";
    append_family(out, "pb_db_retries_total", "counter",
                  "Transactions run again after a serialization failure or deadlock (PostgreSQL).");
    append_sample(out, "pb_db_retries_total", braced, s.retries.load(std::memory_order_relaxed));
    append_family(out, "pb_db_reconnects_total", "counter",
                  "Pooled sessions re-opened after the server dropped them (PostgreSQL).");
    append_sample(out, "pb_db_reconnects_total", braced,
                  s.reconnects.load(std::memory_order_relaxed));
}

void append_outbox_lag(store::Store& store, std::int64_t delivered, UnixMillis now,
                       std::string& out) {
    std::int64_t newest = 0;
    std::optional<UnixMillis> oldest_waiting;
    try {
        store.transaction(
            [&](store::Connection& c) {
                newest = events::latest_seq(c);
                const auto rows =
                    c.query("SELECT created_at FROM events WHERE seq > $1 ORDER BY seq LIMIT 1",
                            {delivered});
                if (!rows.empty()) {
                    oldest_waiting = rows.front().get_int(0);
                }
            },
            store::TxMode::read);
    } catch (const Error&) {
        return;
    }
    append_metric(out, "pb_events_newest_seq", "gauge", "The newest seq in the outbox.", newest);
    append_metric(out, "pb_events_lag", "gauge",
                  "Outbox events committed but not yet handed on to WebSocket subscribers and "
                  "caches (newest seq minus pb_events_last_seq).",
                  std::max<std::int64_t>(0, newest - delivered));
    const double age =
        oldest_waiting ? static_cast<double>(std::max<UnixMillis>(0, now - *oldest_waiting)) / 1e3
                       : 0.0;
    append_family(out, "pb_events_oldest_undelivered_age_seconds", "gauge",
                  "Age of the oldest outbox event not yet handed on (0 when none waits).");
    char buf[64];
    std::snprintf(buf, sizeof buf, "pb_events_oldest_undelivered_age_seconds %.3f\n", age);
    out += buf;
}

}  // namespace pb::daemon
