#pragma once
// Beast-free: the thread that follows the outbox for the WebSocket side.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "common/events/outbox.hpp"
#include "common/events/tailer.hpp"
#include "common/store/store.hpp"

namespace pb::daemon::ws {

// One thread that reads every event committed to the outbox (by pbd or by
// `pbctl` on the same database) and hands them on in batches, in seq order,
// each once. Events announced by their committer (Redis pub/sub) go out
// without a database read when they are the next seq; a later one waits for
// its predecessors (announced or read). The outbox stays the authority:
// duplicates are dropped by seq. Thread-safe.
class OutboxTail {
  public:
    // What the thread calls: each batch of new events (never empty), and
    // after every wake-up (for periodic work), both on the tail thread.
    using BatchFn = std::function<void(const std::vector<events::Event>&)>;
    using TickFn = std::function<void()>;

    // Checks for commits every `poll_interval` (a change token read:
    // nanoseconds when nothing was committed).
    OutboxTail(store::Store& store, std::chrono::milliseconds poll_interval);
    // Stops (see stop()).
    ~OutboxTail();
    OutboxTail(const OutboxTail&) = delete;
    OutboxTail& operator=(const OutboxTail&) = delete;

    // Starts the thread after `position`.
    void start(std::int64_t position, BatchFn on_batch, TickFn on_tick);
    // Joins the thread: no callback runs after it returns. Idempotent.
    void stop();

    // Reads the outbox now rather than at the next poll (pbd just committed).
    void poke();
    // An event announced by its committer; bounded (past the bound, the
    // outbox read delivers what was not taken).
    void offer(const events::Event& event);

    // For /metrics: events handed on as announced, without an outbox read.
    std::uint64_t announced() const { return m_announced.load(); }

  private:
    void loop(std::int64_t position);
    // Reads what is new into `batch`: announced events first, then the
    // outbox after them, then announced ones the read caught up to.
    void read_new(events::Tailer& tailer, std::vector<events::Event>& offered,
                  std::vector<events::Event>& batch);
    // Moves the announced events that continue `tailer`'s position into
    // `batch`, advancing it; drops those already passed.
    void take_announced(events::Tailer& tailer, std::vector<events::Event>& batch);

    store::Store& m_store;
    const std::chrono::milliseconds m_poll_interval;
    BatchFn m_on_batch;
    TickFn m_on_tick;

    std::mutex m_mutex;
    std::condition_variable m_cv;
    bool m_stop = false;                            // guarded by m_mutex
    bool m_poked = false;                           // guarded by m_mutex
    std::vector<events::Event> m_offered;           // guarded by m_mutex
    std::map<std::int64_t, events::Event> m_early;  // announced, not yet next; tail thread only
    std::atomic<std::uint64_t> m_announced{0};
    std::thread m_thread;
};

}  // namespace pb::daemon::ws
