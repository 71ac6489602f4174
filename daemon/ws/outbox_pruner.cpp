#include "daemon/ws/outbox_pruner.hpp"

#include <exception>

#include "common/core/log.hpp"
#include "common/events/outbox.hpp"

namespace pb::daemon::ws {
namespace {

constexpr auto k_prune_interval = std::chrono::minutes(1);
constexpr std::int64_t k_prune_batch = 10'000;

}  // namespace

OutboxPruner::OutboxPruner(store::Store& store, const Clock& clock,
                           std::chrono::milliseconds retention)
    : m_store(store), m_clock(clock), m_retention_ms(retention.count()) {}

void OutboxPruner::tick() {
    const auto now = std::chrono::steady_clock::now();
    if (now < m_next) {
        return;
    }
    m_next = now + k_prune_interval;
    try {
        prune();
    } catch (const std::exception& e) {
        log::get("daemon.ws")->warn("pruning the event outbox failed: {}", e.what());
    }
}

void OutboxPruner::prune() {
    const auto cutoff = m_clock.now() - m_retention_ms.load(std::memory_order_relaxed);
    for (;;) {
        const auto deleted = m_store.transaction(
            [&](store::Connection& c) { return events::prune(c, cutoff, k_prune_batch); });
        m_pruned.fetch_add(static_cast<std::uint64_t>(deleted), std::memory_order_relaxed);
        if (deleted > 0) {
            log::get("daemon.ws")->info("pruned {} event(s) older than events.retention", deleted);
        }
        if (deleted < k_prune_batch) {
            return;
        }
    }
}

}  // namespace pb::daemon::ws
