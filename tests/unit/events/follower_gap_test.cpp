// The follower on PostgreSQL, where an event's seq is taken at INSERT but the
// event is visible only at COMMIT: a lower seq can commit after a higher one.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/core/clock.hpp"
#include "common/events/follower.hpp"
#include "common/store/migrations.hpp"
#include "tests/support/test_db.hpp"

namespace pb::events {
namespace {

using test::Backend;

class FollowerGapTest : public ::testing::TestWithParam<Backend> {
  protected:
    FollowerGapTest() : db(GetParam()), store(store::open_store(db.url(), {.pool_size = 4})) {
        store::migrate(*store, clock);
        follower = std::make_unique<Follower>(*store);
        follower->on("t/", [this](const Event& e) { seen.push_back(e.type); });
    }

    void append_committed(const std::string& type) {
        store->transaction([&](store::Connection& c) { append(c, "t/x", type, {}, 1); });
    }

    // Catches up until `n` events arrived (bounded: NOTIFY reaches us a moment after commit).
    bool wait_for(std::size_t n) {
        for (int i = 0; i < 400 && seen.size() < n; ++i) {
            follower->catch_up();
            if (seen.size() < n) {
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
            }
        }
        return seen.size() >= n;
    }

    test::TestDb db;
    ManualClock clock;
    std::unique_ptr<store::Store> store;
    std::unique_ptr<Follower> follower;
    std::vector<std::string> seen;
};

// An event whose transaction commits after a later-numbered one is still delivered, once.
TEST_P(FollowerGapTest, LateCommitOfALowerSeqIsDelivered) {
    std::mutex m;
    std::condition_variable cv;
    bool inserted = false;
    bool release = false;
    std::thread slow([&] {
        store->transaction([&](store::Connection& c) {
            append(c, "t/x", "slow", {}, 1);  // takes the lower seq
            std::unique_lock lock(m);
            inserted = true;
            cv.notify_all();
            cv.wait(lock, [&] { return release; });
        });
    });
    {
        std::unique_lock lock(m);
        cv.wait(lock, [&] { return inserted; });
    }
    append_committed("fast");  // the higher seq, committed first
    ASSERT_TRUE(wait_for(1));
    EXPECT_EQ(seen, (std::vector<std::string>{"fast"}));
    {
        std::lock_guard lock(m);
        release = true;
    }
    cv.notify_all();
    slow.join();
    ASSERT_TRUE(wait_for(2));
    EXPECT_EQ(seen, (std::vector<std::string>{"fast", "slow"}));
    append_committed("after");
    ASSERT_TRUE(wait_for(3));
    EXPECT_EQ(seen, (std::vector<std::string>{"fast", "slow", "after"}));
}

// A transaction open while a follower starts, with a lower seq than the
// newest, is still delivered to it when it commits.
TEST_P(FollowerGapTest, LateCommitAtStartIsDelivered) {
    std::mutex m;
    std::condition_variable cv;
    bool inserted = false;
    bool release = false;
    std::thread slow([&] {
        store->transaction([&](store::Connection& c) {
            append(c, "t/x", "slow", {}, 1);
            std::unique_lock lock(m);
            inserted = true;
            cv.notify_all();
            cv.wait(lock, [&] { return release; });
        });
    });
    {
        std::unique_lock lock(m);
        cv.wait(lock, [&] { return inserted; });
    }
    append_committed("before-start");
    std::vector<std::string> late;
    Follower fresh(*store);  // starts after "before-start"
    fresh.on("t/", [&](const Event& e) { late.push_back(e.type); });
    {
        std::lock_guard lock(m);
        release = true;
    }
    cv.notify_all();
    slow.join();
    for (int i = 0; i < 400 && late.empty(); ++i) {
        fresh.catch_up();
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_EQ(late, (std::vector<std::string>{"slow"}));
}

// A seq taken by a transaction that rolled back holds the watermark only for
// k_gap_wait; events after it are delivered meanwhile.
TEST_P(FollowerGapTest, RolledBackSeqIsSkippedAfterTheWait) {
    EXPECT_THROW(store->transaction([&](store::Connection& c) {
        append(c, "t/x", "never", {}, 1);
        throw std::runtime_error("roll back");
    }),
                 std::runtime_error);
    append_committed("kept");
    ASSERT_TRUE(wait_for(1));
    const auto latest =
        store->transaction([](store::Connection& c) { return latest_seq(c); }, store::TxMode::read);
    EXPECT_LT(follower->last_seq(),
              latest);  // the rolled-back seq may still commit, for all it knows
    bool passed = false;
    for (int i = 0; i < 100 && !passed; ++i) {  // bounded: k_gap_wait is 3 s
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        append_committed("tick");
        follower->catch_up();
        passed = follower->last_seq() >= latest;
    }
    EXPECT_TRUE(passed);
    EXPECT_EQ(seen.front(), "kept");
    EXPECT_EQ(std::count(seen.begin(), seen.end(), "never"), 0);
}

// SQLite serialises writers, so the out-of-order commit above cannot happen there.
INSTANTIATE_TEST_SUITE_P(, FollowerGapTest, ::testing::Values(Backend::postgres),
                         test::backend_name);

}  // namespace
}  // namespace pb::events
