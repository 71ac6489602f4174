// The WebSocket fan-out's reader delivers in seq order on both databases: on
// PostgreSQL an event whose transaction commits after a later-numbered one is
// waited for, so a subscriber resuming "after N" can never have skipped it.
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/core/clock.hpp"
#include "common/events/tailer.hpp"
#include "common/store/migrations.hpp"
#include "tests/support/test_db.hpp"

namespace pb::events {
namespace {

using test::Backend;

class TailerOrderTest : public ::testing::TestWithParam<Backend> {
  protected:
    TailerOrderTest() : db(GetParam()), store(store::open_store(db.url(), {.pool_size = 4})) {
        store::migrate(*store, clock);
    }

    void append_committed(const std::string& type) {
        store->transaction([&](store::Connection& c) { append(c, "t/x", type, {}, 1); });
    }

    // Polls until `n` events arrived in total (bounded).
    bool poll_until(Tailer& tailer, std::vector<Event>& seen, std::size_t n) {
        for (int i = 0; i < 1600 && seen.size() < n; ++i) {
            tailer.poll([&](const Event& e) { seen.push_back(e); });
            if (seen.size() < n) {
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
            }
        }
        return seen.size() >= n;
    }

    test::TestDb db;
    ManualClock clock;
    std::unique_ptr<store::Store> store;
};

TEST_P(TailerOrderTest, ALateCommitOfALowerSeqIsDeliveredBeforeTheHigherOne) {
    Tailer tailer(*store, 0);
    std::mutex m;
    std::condition_variable cv;
    bool inserted = false;
    bool release = false;
    // On SQLite the slow writer holds the write lock, so the fast one waits for it.
    std::thread slow([&] {
        store->transaction([&](store::Connection& c) {
            append(c, "t/x", "slow", {}, 1);  // takes the lower seq
            std::unique_lock lock(m);
            inserted = true;
            cv.notify_all();
            cv.wait_for(lock, std::chrono::milliseconds(500), [&] { return release; });
        });
    });
    {
        std::unique_lock lock(m);
        cv.wait(lock, [&] { return inserted; });
    }
    std::thread fast([&] { append_committed("fast"); });
    std::vector<Event> seen;
    if (GetParam() == Backend::postgres) {
        fast.join();  // committed, above a seq not yet visible
        for (int i = 0; i < 20; ++i) {
            tailer.poll([&](const Event& e) { seen.push_back(e); });
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        EXPECT_TRUE(seen.empty()) << "delivered past a missing seq: " << seen.front().type;
    }
    {
        std::lock_guard lock(m);
        release = true;
    }
    cv.notify_all();
    slow.join();
    if (fast.joinable()) {
        fast.join();
    }
    ASSERT_TRUE(poll_until(tailer, seen, 2));
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0].type, "slow");
    EXPECT_EQ(seen[1].type, "fast");
    EXPECT_LT(seen[0].seq, seen[1].seq);
    EXPECT_EQ(tailer.position(), seen[1].seq);
}

TEST_P(TailerOrderTest, ARolledBackSeqIsPassedAfterTheWait) {
    Tailer tailer(*store, 0);
    try {
        store->transaction([&](store::Connection& c) {
            append(c, "t/x", "rolled back", {}, 1);
            throw std::runtime_error("roll back");
        });
    } catch (const std::runtime_error&) {
    }
    append_committed("after");
    std::vector<Event> seen;
    const auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(poll_until(tailer, seen, 1));
    EXPECT_EQ(seen[0].type, "after");
    if (GetParam() == Backend::postgres) {
        // A sequence value is spent even when its transaction rolls back.
        EXPECT_GE(std::chrono::steady_clock::now() - start, Tailer::k_gap_wait);
    }
}

PB_INSTANTIATE_BACKENDS(TailerOrderTest);

}  // namespace
}  // namespace pb::events
