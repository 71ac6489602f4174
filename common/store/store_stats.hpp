#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "common/core/histogram.hpp"

namespace pb::store {

class Store;

// What a store did, for pbd's /metrics. Relaxed atomics, counted where it
// happens (a statement, a pool lease, a retry): no lock on any path. Each
// store owns one; stats_of() finds it for the reader.
struct StoreStats {
    LatencyHistogram statements;    // each exec() and query() a caller runs, any connection
    LatencyHistogram transactions;  // each transaction(): lease, body, commit, retries
    std::atomic<std::int64_t> pool_in_use{0};    // connections leased now
    std::atomic<std::uint64_t> pool_waits{0};    // leases that found no free connection
    std::atomic<std::uint64_t> pool_wait_ns{0};  // time those leases waited
    std::atomic<std::uint64_t> retries{0};       // transactions re-run (serialization, deadlock)
    std::atomic<std::uint64_t> reconnects{0};    // sessions re-opened after a lost connection
    std::size_t pool_size = 0;                   // set before the store is shared
};

// The counters of `store`, or nullptr for a store that keeps none. Kept out
// of the Store interface, which every layer includes for its data calls:
// metrics are the daemon's concern. Takes a lock: for a scrape, not a request.
const StoreStats* stats_of(const Store& store);

// A store's stats, findable by stats_of() for as long as this object lives.
// The store declares it after the StoreStats it names.
class StatsRegistration {
  public:
    StatsRegistration(const Store& store, const StoreStats& stats);
    ~StatsRegistration();
    StatsRegistration(const StatsRegistration&) = delete;
    StatsRegistration& operator=(const StatsRegistration&) = delete;

  private:
    const Store& m_store;
};

}  // namespace pb::store
