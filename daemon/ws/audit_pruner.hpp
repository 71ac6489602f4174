#pragma once
// Beast-free: audit.retention applied to the audit log.

#include <atomic>
#include <chrono>
#include <cstdint>

#include "common/core/clock.hpp"
#include "common/events/audit_log.hpp"

namespace pb::daemon::ws {

// Deletes audit rows older than audit.retention (0: never), once a minute,
// through AuditLog::prune: the part deleted is checked first and the last
// deleted row recorded, so `audit verify` still checks the chain from there.
// Called from one thread (the outbox tail's).
class AuditPruner {
  public:
    AuditPruner(events::AuditLog& audit, const Clock& clock, std::chrono::milliseconds retention);

    // Prunes when a minute has passed since the last time (at once the first
    // time). A failure (a tampered part among them) is logged and retried.
    void tick();

    // For /metrics: audit rows deleted.
    std::uint64_t pruned() const { return m_pruned.load(); }

  private:
    events::AuditLog& m_audit;
    const Clock& m_clock;
    const std::chrono::milliseconds m_retention;
    std::chrono::steady_clock::time_point m_next{};
    std::atomic<std::uint64_t> m_pruned{0};
};

}  // namespace pb::daemon::ws
