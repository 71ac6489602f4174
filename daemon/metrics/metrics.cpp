#include "daemon/metrics/metrics.hpp"

#include <array>
#include <cstdio>

namespace pb::daemon {
namespace {

// The statuses pbd answers with; anything else is counted as "other".
constexpr std::array<int, 15> k_statuses{200, 201, 204, 400, 401, 403, 404, 405,
                                         409, 413, 415, 429, 431, 500, 503};
constexpr std::size_t k_status_slots = k_statuses.size() + 1;

// Histogram upper bounds (le), in nanoseconds and as written.
constexpr std::array<std::uint64_t, 11> k_bounds_ns{
    500'000,    1'000'000,   2'500'000,   5'000'000,   10'000'000,   25'000'000,
    50'000'000, 100'000'000, 250'000'000, 500'000'000, 1'000'000'000};
constexpr std::array<std::string_view, 12> k_bound_labels{"0.0005", "0.001", "0.0025", "0.005",
                                                          "0.01",   "0.025", "0.05",   "0.1",
                                                          "0.25",   "0.5",   "1",      "+Inf"};

// Methods get their own unmatched/rejected series; others share "OTHER".
constexpr std::array<std::string_view, 8> k_methods{"GET",   "HEAD",   "POST",    "PUT",
                                                    "PATCH", "DELETE", "OPTIONS", "OTHER"};

// Enough shards for one per worker thread on most machines; more threads share.
constexpr std::size_t k_shards = 16;

struct SlotCounters {
    std::array<std::atomic<std::uint64_t>, k_status_slots> status{};
    std::array<std::atomic<std::uint64_t>, k_bounds_ns.size() + 1> buckets{};  // not cumulative
    std::atomic<std::uint64_t> sum_ns{0};
};

std::size_t method_index(std::string_view method) {
    for (std::size_t i = 0; i + 1 < k_methods.size(); ++i) {
        if (k_methods[i] == method) {
            return i;
        }
    }
    return k_methods.size() - 1;
}

std::size_t status_index(int status) {
    for (std::size_t i = 0; i < k_statuses.size(); ++i) {
        if (k_statuses[i] == status) {
            return i;
        }
    }
    return k_statuses.size();
}

std::size_t bucket_index(std::uint64_t ns) {
    std::size_t i = 0;
    while (i < k_bounds_ns.size() && ns > k_bounds_ns[i]) {
        ++i;
    }
    return i;
}

std::uint64_t load(const std::atomic<std::uint64_t>& a) {
    return a.load(std::memory_order_relaxed);
}

}  // namespace

struct alignas(64) Metrics::Shard {
    std::unique_ptr<SlotCounters[]> slots;
};

Metrics::Metrics(const ops::OpTable& table) : m_table(table), m_ops(table.all().size()) {
    for (const auto& op : table.all()) {
        m_labels.push_back({op.route.path, op.route.method});
    }
    m_labels.push_back({"/ready", "GET"});
    m_labels.push_back({"/metrics", "GET"});
    m_labels.push_back({"/v1/auth", "GET"});
    m_labels.push_back({"/openapi.json", "GET"});
    m_labels.push_back({"/asyncapi.json", "GET"});
    m_labels.push_back({"/v1/decisions", "GET"});         // HEAD counted with GET
    m_labels.push_back({"/v1/decisions/stream", "GET"});  // likewise
    for (const char* route : {"unmatched", "rejected"}) {
        for (const auto m : k_methods) {
            m_labels.push_back({route, std::string(m)});
        }
    }
    m_shards = std::make_unique<Shard[]>(k_shards);
    for (std::size_t i = 0; i < k_shards; ++i) {
        m_shards[i].slots = std::make_unique<SlotCounters[]>(m_labels.size());
    }
}

Metrics::~Metrics() = default;

std::size_t Metrics::op_slot(const ops::Op& op) const {
    return static_cast<std::size_t>(&op - m_table.all().data());
}

std::size_t Metrics::unmatched_slot(std::string_view method) const {
    return m_ops + k_own_slots + method_index(method);
}

std::size_t Metrics::rejected_slot(std::string_view method) const {
    return m_ops + k_own_slots + k_methods.size() + method_index(method);
}

Metrics::Shard& Metrics::shard() {
    static std::atomic<std::size_t> next{0};
    thread_local const std::size_t index = next.fetch_add(1, std::memory_order_relaxed) % k_shards;
    return m_shards[index];
}

void Metrics::record(std::size_t slot, int status, std::chrono::nanoseconds elapsed) {
    if (slot >= m_labels.size()) {
        return;
    }
    const auto ns = static_cast<std::uint64_t>(std::max<std::int64_t>(0, elapsed.count()));
    auto& c = shard().slots[slot];
    c.status[status_index(status)].fetch_add(1, std::memory_order_relaxed);
    c.buckets[bucket_index(ns)].fetch_add(1, std::memory_order_relaxed);
    c.sum_ns.fetch_add(ns, std::memory_order_relaxed);
}

std::string Metrics::render() const {
    std::string out;
    out.reserve(8192);
    char num[64];
    const auto append_u64 = [&](std::uint64_t v) {
        std::snprintf(num, sizeof num, "%llu", static_cast<unsigned long long>(v));
        out += num;
    };
    const auto labels = [&](std::size_t slot) {
        out += "route=\"";
        out += m_labels[slot].route;
        out += "\",method=\"";
        out += m_labels[slot].method;
        out += '"';
    };

    // Totals over the shards, slot by slot.
    std::vector<SlotCounters> totals(m_labels.size());
    for (std::size_t s = 0; s < k_shards; ++s) {
        for (std::size_t i = 0; i < m_labels.size(); ++i) {
            const auto& from = m_shards[s].slots[i];
            auto& to = totals[i];
            for (std::size_t k = 0; k < k_status_slots; ++k) {
                to.status[k].fetch_add(load(from.status[k]), std::memory_order_relaxed);
            }
            for (std::size_t k = 0; k < to.buckets.size(); ++k) {
                to.buckets[k].fetch_add(load(from.buckets[k]), std::memory_order_relaxed);
            }
            to.sum_ns.fetch_add(load(from.sum_ns), std::memory_order_relaxed);
        }
    }

    out += "# HELP pb_http_requests_total HTTP requests answered, by route, method and status.\n";
    out += "# TYPE pb_http_requests_total counter\n";
    for (std::size_t i = 0; i < totals.size(); ++i) {
        for (std::size_t k = 0; k < k_status_slots; ++k) {
            const auto n = load(totals[i].status[k]);
            if (n == 0) {
                continue;
            }
            out += "pb_http_requests_total{";
            labels(i);
            out += ",status=\"";
            out += k < k_statuses.size() ? std::to_string(k_statuses[k]) : std::string("other");
            out += "\"} ";
            append_u64(n);
            out += '\n';
        }
    }

    out += "# HELP pb_http_request_duration_seconds Time to answer a request, by route.\n";
    out += "# TYPE pb_http_request_duration_seconds histogram\n";
    for (std::size_t i = 0; i < totals.size(); ++i) {
        std::uint64_t cumulative = 0;
        for (std::size_t k = 0; k < totals[i].buckets.size(); ++k) {
            cumulative += load(totals[i].buckets[k]);
        }
        if (cumulative == 0) {
            continue;
        }
        cumulative = 0;
        for (std::size_t k = 0; k < totals[i].buckets.size(); ++k) {
            cumulative += load(totals[i].buckets[k]);
            out += "pb_http_request_duration_seconds_bucket{";
            labels(i);
            out += ",le=\"";
            out += k_bound_labels[k];
            out += "\"} ";
            append_u64(cumulative);
            out += '\n';
        }
        out += "pb_http_request_duration_seconds_sum{";
        labels(i);
        std::snprintf(num, sizeof num, "} %.9f\n",
                      static_cast<double>(load(totals[i].sum_ns)) / 1e9);
        out += num;
        out += "pb_http_request_duration_seconds_count{";
        labels(i);
        out += "} ";
        append_u64(cumulative);
        out += '\n';
    }

    out += "# HELP pb_http_connections_active Open HTTP connections.\n";
    out += "# TYPE pb_http_connections_active gauge\n";
    out += "pb_http_connections_active ";
    out += std::to_string(connections());
    out += '\n';
    out += "# HELP pb_db_errors_total Requests that failed because the database did.\n";
    out += "# TYPE pb_db_errors_total counter\n";
    out += "pb_db_errors_total ";
    append_u64(load(m_db_errors));
    out += '\n';
    out +=
        "# HELP pb_gate_decisions_total Answers of the /v1/auth gate, by decision and "
        "reason.\n";
    out += "# TYPE pb_gate_decisions_total counter\n";
    for (std::size_t i = 0; i < m_gate.size(); ++i) {
        out += i == 0 ? "pb_gate_decisions_total{decision=\"allow\",reason=\""
                      : "pb_gate_decisions_total{decision=\"deny\",reason=\"";
        out += m_gate.value_name(i);
        out += "\"} ";
        append_u64(m_gate.total(i));
        out += '\n';
    }
    out += "# HELP pb_build_info The running pbd's version.\n";
    out += "# TYPE pb_build_info gauge\n";
    out += "pb_build_info{version=\"" PB_VERSION "\"} 1\n";
    if (m_extra) {
        m_extra(out);
    }
    return out;
}

}  // namespace pb::daemon
