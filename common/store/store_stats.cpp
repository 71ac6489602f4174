#include "common/store/store_stats.hpp"

#include <algorithm>
#include <mutex>
#include <utility>
#include <vector>

namespace pb::store {
namespace {

struct Registry {
    std::mutex mutex;
    std::vector<std::pair<const Store*, const StoreStats*>> stores;
};

// Never destroyed: a store in a static may outlive any other static.
Registry& registry() {
    static auto* r = new Registry;
    return *r;
}

}  // namespace

const StoreStats* stats_of(const Store& store) {
    auto& r = registry();
    std::lock_guard lock(r.mutex);
    for (const auto& [s, stats] : r.stores) {
        if (s == &store) {
            return stats;
        }
    }
    return nullptr;
}

StatsRegistration::StatsRegistration(const Store& store, const StoreStats& stats) : m_store(store) {
    auto& r = registry();
    std::lock_guard lock(r.mutex);
    r.stores.emplace_back(&store, &stats);
}

StatsRegistration::~StatsRegistration() {
    auto& r = registry();
    std::lock_guard lock(r.mutex);
    std::erase_if(r.stores, [&](const auto& entry) { return entry.first == &m_store; });
}

}  // namespace pb::store
