// The pool that runs WebSocket ops (daemon/ws/op_pool): a strand (one
// socket's requests) runs its jobs one at a time and in order, beside other
// strands, and forgets what it was told to clear. No socket, no daemon.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <stdexcept>
#include <vector>

#include <gtest/gtest.h>

#include "daemon/ws/op_pool.hpp"

namespace pb::daemon::ws {
namespace {

// Bounded waits: a failure shows as a failed expectation, not a hang.
constexpr auto k_patience = std::chrono::seconds(30);

// Counts jobs done and lets the test wait for a number of them.
class Done {
  public:
    void one() {
        {
            std::lock_guard lock(m_mutex);
            ++m_count;
        }
        m_cv.notify_all();
    }
    bool wait_for(int n) {
        std::unique_lock lock(m_mutex);
        return m_cv.wait_for(lock, k_patience, [&] { return m_count >= n; });
    }

  private:
    std::mutex m_mutex;
    std::condition_variable m_cv;
    int m_count = 0;
};

// Many strands posted to at once on a pool of 4 threads: each strand's jobs
// never overlap and run in the order posted.
TEST(WsOpPool, StrandRunsItsJobsOneAtATimeInOrder) {
    constexpr int k_strands = 8;
    constexpr int k_jobs = 200;
    OpPool pool(4, "test-pool");
    pool.start();
    std::vector<std::unique_ptr<OpPool::Strand>> strands;
    std::vector<std::atomic<int>> active(k_strands);
    std::vector<std::vector<int>> order(k_strands);
    std::mutex order_mutex;  // for the sanitizers: a strand's jobs may run on any thread
    std::atomic<int> overlaps{0};
    Done done;
    for (int s = 0; s < k_strands; ++s) {
        strands.push_back(std::make_unique<OpPool::Strand>(pool));
    }
    for (int j = 0; j < k_jobs; ++j) {
        for (int s = 0; s < k_strands; ++s) {
            strands[s]->post([&, s, j] {
                if (active[s].fetch_add(1) != 0) {
                    ++overlaps;
                }
                {
                    std::lock_guard lock(order_mutex);
                    order[s].push_back(j);
                }
                std::this_thread::yield();
                active[s].fetch_sub(1);
                done.one();
            });
        }
    }
    ASSERT_TRUE(done.wait_for(k_strands * k_jobs));
    EXPECT_EQ(overlaps.load(), 0);
    std::lock_guard lock(order_mutex);
    for (int s = 0; s < k_strands; ++s) {
        ASSERT_EQ(order[s].size(), static_cast<std::size_t>(k_jobs));
        for (int j = 0; j < k_jobs; ++j) {
            EXPECT_EQ(order[s][j], j) << "strand " << s;
        }
    }
}

// While a strand's job runs, its next job waits (counted by waiting()), and
// another strand's job runs beside it on the pool's other thread.
TEST(WsOpPool, NextJobWaitsWhileOtherStrandsRun) {
    OpPool pool(2, "test-pool");
    pool.start();
    OpPool::Strand a(pool);
    OpPool::Strand b(pool);
    std::promise<void> a_started;
    std::promise<void> release_a;
    auto released = release_a.get_future().share();
    std::promise<void> b_ran;
    std::atomic<bool> second_ran{false};
    Done done;
    a.post([&] {
        a_started.set_value();
        released.wait_for(k_patience);
        done.one();
    });
    ASSERT_EQ(a_started.get_future().wait_for(k_patience), std::future_status::ready);
    a.post([&] {
        second_ran = true;
        done.one();
    });
    EXPECT_EQ(a.waiting(), 1U);
    b.post([&] { b_ran.set_value(); });
    // b runs although a's first job has not ended.
    EXPECT_EQ(b_ran.get_future().wait_for(k_patience), std::future_status::ready);
    EXPECT_FALSE(second_ran.load());
    release_a.set_value();
    ASSERT_TRUE(done.wait_for(2));
    EXPECT_TRUE(second_ran.load());
    EXPECT_EQ(a.waiting(), 0U);
}

// clear() forgets the jobs not started (a socket being closed runs nothing
// more); the running one ends, and the strand takes later jobs as before.
TEST(WsOpPool, ClearForgetsJobsNotStarted) {
    OpPool pool(2, "test-pool");
    pool.start();
    OpPool::Strand strand(pool);
    std::promise<void> started;
    std::promise<void> release;
    auto released = release.get_future().share();
    std::atomic<int> forgotten_ran{0};
    Done done;
    strand.post([&] {
        started.set_value();
        released.wait_for(k_patience);
        done.one();
    });
    ASSERT_EQ(started.get_future().wait_for(k_patience), std::future_status::ready);
    strand.post([&] { ++forgotten_ran; });
    strand.post([&] { ++forgotten_ran; });
    EXPECT_EQ(strand.waiting(), 2U);
    strand.clear();
    EXPECT_EQ(strand.waiting(), 0U);
    release.set_value();
    ASSERT_TRUE(done.wait_for(1));
    strand.post([&] { done.one(); });
    ASSERT_TRUE(done.wait_for(2));
    EXPECT_EQ(forgotten_ran.load(), 0);
}

// A job that throws is logged and forgotten: the strand goes on.
TEST(WsOpPool, ThrowingJobDoesNotStopTheStrand) {
    OpPool pool(1, "test-pool");
    pool.start();
    OpPool::Strand strand(pool);
    Done done;
    strand.post([] { throw std::runtime_error("boom"); });
    strand.post([&] { done.one(); });
    EXPECT_TRUE(done.wait_for(1));
}

// stop() runs what was queued before it, then drops what comes after.
TEST(WsOpPool, StopDrainsThenDrops) {
    OpPool pool(1, "test-pool");
    pool.start();
    std::atomic<int> ran{0};
    for (int i = 0; i < 50; ++i) {
        pool.post([&] { ++ran; });
    }
    pool.stop();
    EXPECT_EQ(ran.load(), 50);
    pool.post([&] { ++ran; });
    pool.stop();
    EXPECT_EQ(ran.load(), 50);
}

}  // namespace
}  // namespace pb::daemon::ws
