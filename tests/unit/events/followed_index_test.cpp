// FollowedIndex: the refresh shared by the ban index and the limit overrides.
#include "common/events/followed_index.hpp"

#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

#include "common/store/migrations.hpp"
#include "tests/support/temp_dir.hpp"

namespace pb::events {
namespace {

class FollowedIndexTest : public ::testing::Test {
  protected:
    FollowedIndexTest() {
        store = store::open_store(dir.file("pb.db"), {.pool_size = 1});
        store::migrate(*store, SystemClock::instance());
        follower = std::make_unique<Follower>(*store);
        index = std::make_unique<FollowedIndex>(*follower, "test index");
    }
    void refresh() {
        index->refresh([&] { ++loads; },
                       [&] {
                           ++updates;
                           if (failing) {
                               throw std::runtime_error("store down");
                           }
                       });
    }
    test::TempDir dir;
    std::unique_ptr<store::Store> store;
    std::unique_ptr<Follower> follower;
    std::unique_ptr<FollowedIndex> index;
    int loads = 0;
    int updates = 0;
    bool failing = false;
};

// Loaded once; updated once per batch of counted changes, never without one.
TEST_F(FollowedIndexTest, LoadsOnceAndUpdatesOnlyAfterChanges) {
    refresh();
    refresh();
    EXPECT_EQ(loads, 1);
    EXPECT_EQ(updates, 0);
    index->changed();
    index->changed();
    refresh();
    refresh();
    EXPECT_EQ(updates, 1);
    EXPECT_EQ(loads, 1);
}

// A failed update is not applied: readers keep the last index without
// waiting on the store for a while, then the update is tried again.
TEST_F(FollowedIndexTest, AFailedUpdateIsRetriedAfterTheDelayNotOnEveryRead) {
    refresh();
    index->changed();
    failing = true;
    EXPECT_NO_THROW(refresh());
    EXPECT_NO_THROW(refresh());
    EXPECT_EQ(updates, 1);  // the second read did not try again at once
    failing = false;
    // Past the delay (a bound to wait out, not a speed figure).
    std::this_thread::sleep_for(FollowedIndex::k_retry_delay + std::chrono::milliseconds(50));
    refresh();
    EXPECT_EQ(updates, 2);
    refresh();
    EXPECT_EQ(updates, 2);  // applied: nothing left to take
}

// A first load that fails propagates, and the next read loads again.
TEST_F(FollowedIndexTest, AFailedFirstLoadIsTriedAgain) {
    EXPECT_THROW(index->refresh([] { throw std::runtime_error("store down"); }, [] {}),
                 std::runtime_error);
    refresh();
    EXPECT_EQ(loads, 1);
}

}  // namespace
}  // namespace pb::events
