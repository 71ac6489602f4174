#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string_view>

namespace pb {

// Counters of how something turned out, one per value of a fixed list of
// labels ("valid", "revoked", …, "other"), for pbd's /metrics. Counting is
// one relaxed atomic add on a per-thread shard (no lock, no allocation, no
// cache line shared between worker threads); reading sums the shards.
// Transport-free: the domains count, daemon/metrics renders. Thread-safe.
class Outcomes {
  public:
    static constexpr std::size_t k_max_values = 32;

    // `values` must be string literals (they are kept as views); the last is
    // where count(text) puts a text that is none of them ("other").
    Outcomes(std::initializer_list<std::string_view> values);
    ~Outcomes();
    Outcomes(const Outcomes&) = delete;
    Outcomes& operator=(const Outcomes&) = delete;

    // Counts one outcome by its index in the list (ignored when out of range).
    void count(std::size_t index) noexcept;
    // Counts one outcome by its text; one not in the list counts as the last value.
    void count(std::string_view value) noexcept { count(index_of(value)); }
    std::size_t index_of(std::string_view value) const noexcept;

    std::size_t size() const noexcept { return m_size; }
    std::string_view value_name(std::size_t index) const noexcept { return m_values[index]; }
    // The count of one outcome, summed over the shards.
    std::uint64_t total(std::size_t index) const noexcept;

  private:
    struct Shard;
    std::array<std::string_view, k_max_values> m_values{};
    std::size_t m_size = 0;
    std::unique_ptr<Shard[]> m_shards;
};

}  // namespace pb
