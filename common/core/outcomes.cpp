#include "common/core/outcomes.hpp"

#include <stdexcept>

namespace pb {
namespace {

// Enough for one shard per worker thread on most machines; more threads share.
constexpr std::size_t k_shards = 8;

std::size_t thread_shard() {
    static std::atomic<std::size_t> next{0};
    thread_local const std::size_t index = next.fetch_add(1, std::memory_order_relaxed) % k_shards;
    return index;
}

}  // namespace

struct alignas(64) Outcomes::Shard {
    std::array<std::atomic<std::uint64_t>, k_max_values> counts{};
};

Outcomes::Outcomes(std::initializer_list<std::string_view> values)
    : m_shards(std::make_unique<Shard[]>(k_shards)) {
    if (values.size() == 0 || values.size() > k_max_values) {
        throw std::logic_error("Outcomes: between 1 and 32 values");
    }
    for (const auto v : values) {
        m_values[m_size++] = v;
    }
}

Outcomes::~Outcomes() = default;

void Outcomes::count(std::size_t index) noexcept {
    if (index < m_size) {
        m_shards[thread_shard()].counts[index].fetch_add(1, std::memory_order_relaxed);
    }
}

std::size_t Outcomes::index_of(std::string_view value) const noexcept {
    for (std::size_t i = 0; i + 1 < m_size; ++i) {
        if (m_values[i] == value) {
            return i;
        }
    }
    return m_size - 1;
}

std::uint64_t Outcomes::total(std::size_t index) const noexcept {
    std::uint64_t sum = 0;
    if (index < m_size) {
        for (std::size_t s = 0; s < k_shards; ++s) {
            sum += m_shards[s].counts[index].load(std::memory_order_relaxed);
        }
    }
    return sum;
}

}  // namespace pb
