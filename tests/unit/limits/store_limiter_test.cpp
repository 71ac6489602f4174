// Rate limits counted in the database (pbctl on the database): every
// process on one database spends from one bucket, atomically.
#include "common/limits/store_limiter.hpp"

#include <atomic>
#include <thread>

#include "tests/unit/limits/ban_fixture.hpp"

namespace pb::limits::test {
namespace {

class StoreLimiterTest : public BanServiceTest {
  protected:
    StoreLimiter limiter{*store, clock};
    const Policy two_a_minute = *parse_policy("2/min", 0, "test");
};

// The case: two a minute, the third refused, whoever asks (a second
// store on the same database is another pbctl run).
TEST_P(StoreLimiterTest, RunsShareOneBucket) {
    auto other_store = open();
    StoreLimiter other(*other_store, clock);
    EXPECT_TRUE(limiter.check("ip", "192.0.2.5", two_a_minute, 1, {}).allowed);
    EXPECT_EQ(other.status("ip", "192.0.2.5", two_a_minute).remaining, 1);
    const auto second = other.check("ip", "192.0.2.5", two_a_minute, 1, {});
    EXPECT_TRUE(second.allowed);
    EXPECT_EQ(second.remaining, 0);
    const auto third = limiter.check("ip", "192.0.2.5", two_a_minute, 1, {});
    EXPECT_FALSE(third.allowed);
    EXPECT_EQ(third.retry_after_ms, 30'000);
    // Another identifier and another scope are other buckets.
    EXPECT_TRUE(limiter.check("ip", "192.0.2.6", two_a_minute, 1, {}).allowed);
    EXPECT_TRUE(limiter.check("user", "192.0.2.5", two_a_minute, 1, {}).allowed);
    // Time refills it, as in memory.
    clock.advance(30'000);
    EXPECT_TRUE(other.check("ip", "192.0.2.5", two_a_minute, 1, {}).allowed);
    EXPECT_FALSE(other.check("ip", "192.0.2.5", two_a_minute, 1, {}).allowed);
}

// Status spends nothing; reset forgets the row and says whether there was one.
TEST_P(StoreLimiterTest, StatusAndReset) {
    EXPECT_EQ(limiter.status("user", "alice", two_a_minute).remaining, 2);
    EXPECT_EQ(limiter.status("user", "alice", two_a_minute).remaining, 2);
    EXPECT_FALSE(limiter.reset("user", "alice"));
    limiter.check("user", "alice", two_a_minute, 2, {});
    EXPECT_FALSE(limiter.status("user", "alice", two_a_minute).allowed);
    EXPECT_TRUE(limiter.reset("user", "alice"));
    EXPECT_EQ(limiter.status("user", "alice", two_a_minute).remaining, 2);
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM limit_counters"), 0);
}

// A cost out of range is refused before anything is written.
TEST_P(StoreLimiterTest, BadCostWritesNothing) {
    EXPECT_EQ(error_code_of([&] { limiter.check("user", "bob", two_a_minute, 3, {}); }),
              ErrorCode::invalid_argument);
    EXPECT_EQ(error_code_of([&] { limiter.check("user", "bob", two_a_minute, 0, {}); }),
              ErrorCode::invalid_argument);
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM limit_counters"), 0);
}

// Denials count toward an automatic ban as in memory.
TEST_P(StoreLimiterTest, ViolationsAreCounted) {
    const ViolationRule rule{2, k_minute};
    limiter.check("ip", "198.51.100.9", two_a_minute, 2, rule);
    EXPECT_FALSE(limiter.check("ip", "198.51.100.9", two_a_minute, 1, rule).ban_due);
    EXPECT_TRUE(limiter.check("ip", "198.51.100.9", two_a_minute, 1, rule).ban_due);
}

// Checks from two connections at once never spend more than the burst:
// the read and the write are one transaction.
TEST_P(StoreLimiterTest, ConcurrentChecksSpendTheBurstExactly) {
    const Policy ten = *parse_policy("10/h", 0, "test");
    auto other_store = open();
    StoreLimiter other(*other_store, clock);
    std::atomic<int> allowed{0};
    auto spend = [&](StoreLimiter& l) {
        for (int i = 0; i < 12; ++i) {
            allowed += l.check("key", "k1", ten, 1, {}).allowed ? 1 : 0;
        }
    };
    std::thread a(spend, std::ref(limiter));
    std::thread b(spend, std::ref(other));
    a.join();
    b.join();
    EXPECT_EQ(allowed.load(), 10);
}

// Refilled rows are purged; counting ones stay.
TEST_P(StoreLimiterTest, PurgeIdle) {
    limiter.check("user", "a", two_a_minute, 1, {});
    clock.advance(k_minute);
    limiter.check("user", "b", two_a_minute, 1, {});
    EXPECT_EQ(limiter.purge_idle(), 1);
    EXPECT_EQ(limiter.status("user", "b", two_a_minute).remaining, 1);
}

PB_INSTANTIATE_BACKENDS(StoreLimiterTest);

}  // namespace
}  // namespace pb::limits::test
