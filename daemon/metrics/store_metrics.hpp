#pragma once

#include <cstdint>
#include <string>

#include "common/core/clock.hpp"
#include "common/store/store.hpp"

namespace pb::daemon {

// pb_db_*: statement and transaction latency histograms, pool size, use and
// waits, retries and reconnects, labelled with the store's dialect
// (sqlite|postgres). Reads counters only: never waits on the database.
void append_store_metrics(const store::Store& store, std::string& out);

// pb_events_newest_seq, pb_events_lag (newest seq − `delivered`, the seq the
// outbox tail has handed on) and pb_events_oldest_undelivered_age_seconds
// (0 when nothing waits): one read of the outbox. Nothing when the database
// cannot answer (pb_db_errors_total and /health say so).
void append_outbox_lag(store::Store& store, std::int64_t delivered, UnixMillis now,
                       std::string& out);

}  // namespace pb::daemon
