#include "daemon/ws/audit_pruner.hpp"

#include <exception>

#include "common/core/log.hpp"

namespace pb::daemon::ws {
namespace {

constexpr auto k_prune_interval = std::chrono::minutes(1);

}  // namespace

AuditPruner::AuditPruner(events::AuditLog& audit, const Clock& clock,
                         std::chrono::milliseconds retention)
    : m_audit(audit), m_clock(clock), m_retention(retention) {}

void AuditPruner::tick() {
    if (m_retention.count() <= 0) {
        return;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now < m_next) {
        return;
    }
    m_next = now + k_prune_interval;
    try {
        const auto deleted = m_audit.prune(m_clock.now() - m_retention.count());
        m_pruned.fetch_add(static_cast<std::uint64_t>(deleted), std::memory_order_relaxed);
        if (deleted > 0) {
            log::get("audit")->info("pruned {} audit row(s) older than audit.retention", deleted);
        }
    } catch (const std::exception& e) {
        log::get("audit")->error("pruning the audit log failed: {}", e.what());
    }
}

}  // namespace pb::daemon::ws
