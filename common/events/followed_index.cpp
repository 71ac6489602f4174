#include "common/events/followed_index.hpp"

#include "common/core/log.hpp"

namespace pb::events {

FollowedIndex::FollowedIndex(Follower& follower, std::string what)
    : m_follower(follower), m_what(std::move(what)) {}

void FollowedIndex::refresh(Step load, Step update) {
    if (!m_loaded.load(std::memory_order_acquire)) {
        std::lock_guard lock(m_mutex);
        if (!m_loaded.load(std::memory_order_acquire)) {
            m_follower.catch_up();  // what it delivers is older than the load
            const auto seen = m_changes.load(std::memory_order_acquire);
            load();
            m_applied.store(seen, std::memory_order_release);
            m_loaded.store(true, std::memory_order_release);
        }
    }
    const auto steady_now = std::chrono::steady_clock::now().time_since_epoch().count();
    if (steady_now < m_retry_at.load(std::memory_order_relaxed)) {
        return;
    }
    try {
        m_follower.catch_up();
        if (m_changes.load(std::memory_order_acquire) ==
            m_applied.load(std::memory_order_acquire)) {
            return;
        }
        std::lock_guard lock(m_mutex);
        // Read before the update: a change counted during it is taken again
        // by the next refresh (harmless), never lost.
        const auto seen = m_changes.load(std::memory_order_acquire);
        if (seen == m_applied.load(std::memory_order_acquire)) {
            return;  // another thread updated it while this one waited
        }
        update();
        m_applied.store(seen, std::memory_order_release);
        if (m_failing) {
            log::get("events")->info("{} is up to date again", m_what);
            m_failing = false;
        }
    } catch (const std::exception& e) {
        m_retry_at.store(steady_now + std::chrono::steady_clock::duration(k_retry_delay).count(),
                         std::memory_order_relaxed);
        std::lock_guard lock(m_mutex);
        if (!m_failing) {
            log::get("events")->warn("{} not refreshed, using the last one: {}", m_what, e.what());
            m_failing = true;
        }
    }
}

}  // namespace pb::events
