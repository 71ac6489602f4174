#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace pb {

// A latency histogram with fixed buckets, for pbd's /metrics: observe() is a
// few relaxed atomic adds (no lock, no allocation). Header-only, so the
// PostgreSQL module (which links no pb library) can observe into one its
// store owns. Thread-safe.
class LatencyHistogram {
  public:
    // Upper bounds (Prometheus "le"), in nanoseconds and as written; a last
    // bucket holds the rest (+Inf). From 50 µs (an SQLite statement) to 2.5 s.
    static constexpr std::array<std::uint64_t, 14> k_bounds_ns{
        50'000,     100'000,    250'000,    500'000,     1'000'000,   2'500'000,     5'000'000,
        10'000'000, 25'000'000, 50'000'000, 100'000'000, 250'000'000, 1'000'000'000, 2'500'000'000};
    static constexpr std::array<std::string_view, 15> k_bound_labels{
        "5e-05", "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01",
        "0.025", "0.05",   "0.1",     "0.25",   "1",     "2.5",    "+Inf"};
    static constexpr std::size_t k_buckets = k_bound_labels.size();

    void observe(std::chrono::nanoseconds elapsed) noexcept {
        const auto ns = static_cast<std::uint64_t>(elapsed.count() < 0 ? 0 : elapsed.count());
        std::size_t i = 0;
        while (i < k_bounds_ns.size() && ns > k_bounds_ns[i]) {
            ++i;
        }
        m_buckets[i].fetch_add(1, std::memory_order_relaxed);
        m_sum_ns.fetch_add(ns, std::memory_order_relaxed);
    }

    // Observations in bucket `i` alone (not cumulative).
    std::uint64_t bucket(std::size_t i) const noexcept {
        return m_buckets[i].load(std::memory_order_relaxed);
    }
    std::uint64_t sum_ns() const noexcept { return m_sum_ns.load(std::memory_order_relaxed); }

  private:
    std::array<std::atomic<std::uint64_t>, k_buckets> m_buckets{};
    std::atomic<std::uint64_t> m_sum_ns{0};
};

// Observes the time from construction to destruction into `histogram`.
class ScopedTimer {
  public:
    explicit ScopedTimer(LatencyHistogram& histogram) noexcept
        : m_histogram(histogram), m_start(std::chrono::steady_clock::now()) {}
    ~ScopedTimer() { m_histogram.observe(std::chrono::steady_clock::now() - m_start); }
    ScopedTimer(const ScopedTimer&) = delete;
    ScopedTimer& operator=(const ScopedTimer&) = delete;

  private:
    LatencyHistogram& m_histogram;
    std::chrono::steady_clock::time_point m_start;
};

}  // namespace pb
