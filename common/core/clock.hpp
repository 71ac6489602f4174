#pragma once

#include <atomic>
#include <cstdint>

namespace pb {

// Milliseconds since the Unix epoch: the one time unit of pb (stored as int64).
using UnixMillis = std::int64_t;

// Time source injected wherever time matters, so tests control it.
// Implementations are thread-safe.
class Clock {
  public:
    virtual ~Clock() = default;
    virtual UnixMillis now() const = 0;
};

// The real wall clock.
class SystemClock final : public Clock {
  public:
    UnixMillis now() const override;
    // A process-wide instance.
    static const SystemClock& instance();
};

// A clock that only moves when told to; for tests.
class ManualClock final : public Clock {
  public:
    explicit ManualClock(UnixMillis start = 1'700'000'000'000) : m_now(start) {}
    UnixMillis now() const override { return m_now.load(); }
    void set(UnixMillis t) { m_now.store(t); }
    void advance(std::int64_t ms) { m_now.fetch_add(ms); }

  private:
    std::atomic<UnixMillis> m_now;
};

}  // namespace pb
