#include "common/limits/limiter.hpp"

#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/core/error.hpp"

namespace pb::limits {
namespace {

Policy policy(std::string_view rate, std::int64_t burst = 0) {
    return *parse_policy(rate, burst, "test");
}

// Policies parse in their documented spellings; "off" is no limit.
TEST(Policy, Parses) {
    const auto p = policy("100/min", 20);
    EXPECT_EQ(p.count, 100);
    EXPECT_EQ(p.period_ms, 60'000);
    EXPECT_EQ(p.burst, 20);
    EXPECT_EQ(p.interval_us(), 600'000);
    EXPECT_EQ(p.rate_text(), "100/min");
    EXPECT_EQ(policy("10/s").burst, 10);
    EXPECT_EQ(policy("5/30s").period_ms, 30'000);
    EXPECT_EQ(policy("5/30s").rate_text(), "5/30s");
    EXPECT_EQ(policy("1/hour").period_ms, 3'600'000);
    EXPECT_EQ(policy("7/d").rate_text(), "7/d");
    EXPECT_FALSE(parse_policy("off", 0, "x").has_value());
    EXPECT_FALSE(parse_policy("", 0, "x").has_value());
    EXPECT_EQ(parse_rate_limit("600/min,50", "rate_limit")->burst, 50);
    EXPECT_EQ(parse_rate_limit("10/s", "rate_limit")->burst, 10);
}

// Bad policies are invalid_argument naming the setting.
TEST(Policy, RejectsBadOnes) {
    for (const char* bad : {"100", "0/s", "-1/s", "x/s", "100/fortnight", "100/0s", "1/400d"}) {
        try {
            parse_policy(bad, 0, "limits.ip.rate");
            ADD_FAILURE() << bad;
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
            EXPECT_TRUE(std::string(e.what()).starts_with("limits.ip.rate: ")) << e.what();
        }
    }
    EXPECT_THROW(parse_policy("10/s", -1, "x"), Error);
    EXPECT_THROW(parse_rate_limit("10/s,0", "x"), Error);
    EXPECT_THROW(parse_rate_limit("10/s,", "x"), Error);
}

class LimiterTest : public ::testing::Test {
  protected:
    ManualClock clock;
    RateLimiter limiter{clock, 100'000};
};

// A fresh identifier passes exactly `burst` requests at one instant, then is denied.
TEST_F(LimiterTest, BurstIsExact) {
    const auto p = policy("100/min", 20);
    for (int i = 0; i < 20; ++i) {
        const auto r = limiter.check("a", p);
        ASSERT_TRUE(r.allowed) << i;
        EXPECT_EQ(r.limit, 20);
        EXPECT_EQ(r.remaining, 19 - i);
    }
    const auto denied = limiter.check("a", p);
    EXPECT_FALSE(denied.allowed);
    EXPECT_EQ(denied.remaining, 0);
    // Another identifier is untouched.
    EXPECT_TRUE(limiter.check("b", p).allowed);
}

// After the burst, one request is earned every period/count, and no sooner.
TEST_F(LimiterTest, SteadyRateHolds) {
    const auto p = policy("10/s", 1);
    ASSERT_TRUE(limiter.check("a", p).allowed);
    int allowed = 0;
    for (int ms = 1; ms <= 10'000; ++ms) {
        clock.advance(1);
        allowed += limiter.check("a", p).allowed ? 1 : 0;
    }
    EXPECT_EQ(allowed, 100);  // 10 s at 10/s
}

// retry_after is the wait until the denied request would pass; reset_after until the burst is full.
TEST_F(LimiterTest, RetryAfterIsRight) {
    const auto p = policy("60/min", 3);  // one per second
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(limiter.check("a", p).allowed);
    }
    const auto r = limiter.check("a", p);
    ASSERT_FALSE(r.allowed);
    EXPECT_EQ(r.retry_after_ms, 1000);
    EXPECT_EQ(r.reset_after_ms, 3000);
    clock.advance(999);
    EXPECT_FALSE(limiter.check("a", p).allowed);
    EXPECT_EQ(limiter.check("a", p).retry_after_ms, 1);
    clock.advance(1);
    EXPECT_TRUE(limiter.check("a", p).allowed);
    // A cost of 2 waits for two intervals.
    clock.advance(1000);
    const auto two = limiter.check("a", p, 2);
    EXPECT_FALSE(two.allowed);
    EXPECT_EQ(two.retry_after_ms, 1000);
    EXPECT_EQ(two.remaining, 1);
}

// status spends nothing; reset gives the whole burst back.
TEST_F(LimiterTest, StatusAndReset) {
    const auto p = policy("10/min", 5);
    EXPECT_EQ(limiter.status("a", p).remaining, 5);
    EXPECT_EQ(limiter.tracked(), 0U);
    for (int i = 0; i < 5; ++i) {
        limiter.check("a", p);
    }
    const auto s = limiter.status("a", p);
    EXPECT_FALSE(s.allowed);
    EXPECT_EQ(s.remaining, 0);
    EXPECT_EQ(s.retry_after_ms, 6000);
    EXPECT_EQ(limiter.status("a", p).remaining, 0);
    EXPECT_TRUE(limiter.reset("a"));
    EXPECT_FALSE(limiter.reset("a"));
    EXPECT_EQ(limiter.check("a", p).remaining, 4);
}

// A cost outside 1..burst is a caller error.
TEST_F(LimiterTest, CostOutOfRange) {
    const auto p = policy("10/min", 5);
    EXPECT_THROW(limiter.check("a", p, 0), Error);
    EXPECT_THROW(limiter.check("a", p, 6), Error);
    EXPECT_TRUE(limiter.check("a", p, 5).allowed);
}

// Several threads on one identifier at one instant admit exactly `burst` in total.
TEST_F(LimiterTest, NoOverAdmissionUnderThreads) {
    const auto p = policy("1000/h", 500);
    std::atomic<int> allowed{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 1000; ++i) {
                if (limiter.check("shared", p).allowed) {
                    allowed.fetch_add(1);
                }
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    EXPECT_EQ(allowed.load(), 500);
}

// Denials within the window report ban_due once at the threshold, then count afresh.
TEST_F(LimiterTest, ViolationsTripOnce) {
    const auto p = policy("1/min", 1);
    const ViolationRule rule{3, 10'000};
    ASSERT_TRUE(limiter.check("a", p, 1, rule).allowed);
    EXPECT_FALSE(limiter.check("a", p, 1, rule).ban_due);
    EXPECT_FALSE(limiter.check("a", p, 1, rule).ban_due);
    EXPECT_TRUE(limiter.check("a", p, 1, rule).ban_due);
    EXPECT_FALSE(limiter.check("a", p, 1, rule).ban_due);
    // Violations spread wider than the window never add up.
    const auto slow = policy("1/h", 1);
    ASSERT_TRUE(limiter.check("b", slow, 1, rule).allowed);
    for (int i = 0; i < 10; ++i) {
        clock.advance(6'000);
        EXPECT_FALSE(limiter.check("b", slow, 1, rule).ban_due) << i;
    }
}

// Memory is bounded: however many identifiers come, at most max_tracked stay,
// and a drained identifier among idle ones keeps its state.
TEST_F(LimiterTest, TrackedIdentifiersAreCapped) {
    RateLimiter small(clock, 64 * 4);
    const auto p = policy("10/s", 10);
    for (int i = 0; i < 10'000; ++i) {
        small.check("id-" + std::to_string(i), p);
    }
    EXPECT_LE(small.tracked(), 64U * 4);
    clock.advance(10'000);  // every bucket has refilled: all are idle
    for (int i = 0; i < 10; ++i) {
        ASSERT_TRUE(small.check("busy", p).allowed);
    }
    EXPECT_FALSE(small.check("busy", p).allowed);
    EXPECT_LE(small.tracked(), 64U * 4);
}

}  // namespace
}  // namespace pb::limits
