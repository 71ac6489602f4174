#pragma once

#include "common/events/outbox.hpp"

namespace pb::events {

// Announces committed events beyond the outbox (Redis pub/sub), so that other
// processes learn of them without polling the database. The outbox stays the
// record: a reader that missed an announcement finds the event there.
class Publisher {
  public:
    virtual ~Publisher() = default;
    // Called after the event's transaction committed, on the committing
    // thread: must not block for long and must not throw.
    virtual void publish(const Event& event) noexcept = 0;
};

}  // namespace pb::events
