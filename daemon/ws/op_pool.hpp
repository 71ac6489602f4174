#pragma once
// Beast-free: the threads on which WebSocket work that may wait runs.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace pb::daemon::ws {

// A few threads that run what may wait on the database (ops, authentication,
// replays, credential re-checks), so that no socket's I/O thread does. A job
// that throws is logged and forgotten. Thread-safe.
class OpPool {
  public:
    using Job = std::function<void()>;

    // `threads` (at least 1) are named "<name>-<n>" once started.
    OpPool(int threads, std::string name);
    // Stops (see stop()).
    ~OpPool();
    OpPool(const OpPool&) = delete;
    OpPool& operator=(const OpPool&) = delete;

    void start();
    // Queues `job`; jobs start in the order they were posted (they may end in
    // any order: several threads). Dropped once stop() has begun.
    void post(Job job);
    // Runs everything queued, then joins the threads. Idempotent.
    void stop();

    // One socket's ops: each starts after the one posted before it on the
    // same strand has ended, so they run one at a time and in order, while
    // other strands' jobs run beside them. A strand's next job queues behind
    // the jobs posted meanwhile (no socket holds a thread for a burst).
    // Thread-safe; the pool must outlive it.
    class Strand {
      public:
        explicit Strand(OpPool& pool);
        // Queues `job` behind this strand's earlier jobs.
        void post(Job job);
        // Jobs posted and not yet started.
        std::size_t waiting() const;
        // Forgets the jobs not yet started (the running one ends as usual).
        void clear();

      private:
        struct State {
            mutable std::mutex mutex;
            std::deque<Job> jobs;
            bool scheduled = false;  // a runner is queued on the pool or running
        };
        static void run_next(OpPool& pool, const std::shared_ptr<State>& state);

        OpPool& m_pool;
        std::shared_ptr<State> m_state;  // shared with the runner queued on the pool
    };

  private:
    void loop();

    const int m_threads;
    const std::string m_name;
    std::mutex m_mutex;
    std::condition_variable m_cv;
    std::deque<Job> m_jobs;
    bool m_stopping = false;  // guarded by m_mutex
    std::vector<std::thread> m_pool;
};

}  // namespace pb::daemon::ws
