// Named limits counted in the database (pbctl on the database): a key's and
// its identity's buckets spent all or none in one transaction, every process
// on one database spending from the same rows, with the answers memory gives.
#include <atomic>
#include <thread>

#include "common/limits/service.hpp"
#include "common/limits/store_limiter.hpp"
#include "tests/unit/limits/ban_fixture.hpp"

namespace pb::limits::test {
namespace {

class StoreNamedLimitsTest : public BanServiceTest {
  protected:
    BucketCheck bucket(std::string name, const std::string& rate, std::int64_t cost = 1,
                       bool shadow = false) {
        return {std::move(name), *parse_policy(rate, 0, "test"), cost, shadow};
    }
    std::int64_t named_rows() {
        return scalar("SELECT COUNT(*) FROM limit_counters WHERE scope = 'named'");
    }

    StoreLimiter limiter{*store, clock};
};

// A refusal by one bucket spends nothing in any: the other's remaining is
// the same after it. Another store on the database (another pbctl run) sees
// the same counts.
TEST_P(StoreNamedLimitsTest, AllOrNone) {
    auto other_store = open();
    StoreLimiter other(*other_store, clock);
    const auto checks = [&](std::int64_t tokens) {
        return std::vector<BucketCheck>{bucket("k:K1:requests", "3/min"),
                                        bucket("i:acme:tokens", "10/min", tokens)};
    };
    auto first = limiter.check_all(checks(8));
    ASSERT_EQ(first.size(), 2u);
    EXPECT_TRUE(first[0].allowed);
    EXPECT_TRUE(first[1].allowed);
    EXPECT_EQ(first[0].remaining, 2);
    EXPECT_EQ(first[1].remaining, 2);

    // tokens refuses a cost of 5: requests is not spent either.
    const auto refused = other.check_all(checks(5));
    EXPECT_TRUE(refused[0].allowed);  // it fits, as it stands
    EXPECT_EQ(refused[0].remaining, 2);
    EXPECT_FALSE(refused[1].allowed);
    EXPECT_EQ(refused[1].remaining, 2);
    EXPECT_EQ(refused[1].retry_after_ms, 18'000);  // 3 tokens at 6 s each

    const auto second = other.check_all(checks(2));
    EXPECT_TRUE(second[0].allowed && second[1].allowed);
    EXPECT_EQ(second[0].remaining, 1);  // 2 spent of 3: the refusal spent none
    EXPECT_EQ(second[1].remaining, 0);
    EXPECT_EQ(named_rows(), 2);
}

// A refusal by the first bucket leaves the second untouched too, new buckets
// included: no row is written for them.
TEST_P(StoreNamedLimitsTest, RefusalWritesNothing) {
    EXPECT_TRUE(limiter.check_all({bucket("k:K1:requests", "1/min")})[0].allowed);
    const auto refused =
        limiter.check_all({bucket("k:K1:requests", "1/min"), bucket("i:acme:tokens", "10/min")});
    EXPECT_FALSE(refused[0].allowed);
    EXPECT_TRUE(refused[1].allowed);
    EXPECT_EQ(refused[1].remaining, 10);
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM limit_counters WHERE scope = 'named' AND "
                     "id = 'i:acme:tokens' AND tat_us > 0"),
              0);
}

// A shadow bucket over its limit never refuses and is not spent; the
// enforced ones are.
TEST_P(StoreNamedLimitsTest, ShadowNeverRefuses) {
    const std::vector<BucketCheck> checks{bucket("k:K1:requests", "5/min"),
                                          bucket("k:K1:trial", "1/min", 1, true)};
    EXPECT_TRUE(limiter.check_all(checks)[1].allowed);
    for (std::int64_t left = 3; left >= 2; --left) {
        const auto r = limiter.check_all(checks);
        EXPECT_TRUE(r[0].allowed);
        EXPECT_EQ(r[0].remaining, left);
        EXPECT_FALSE(r[1].allowed);  // reported over its limit
        EXPECT_EQ(r[1].remaining, 0);
        EXPECT_EQ(r[1].retry_after_ms, 60'000);  // not spent: one interval, not two
    }
    // An enforced refusal refuses whatever the shadow says.
    const std::vector<BucketCheck> over{bucket("k:K1:requests", "5/min", 3),
                                        bucket("k:K1:trial", "1/min", 1, true)};
    EXPECT_FALSE(limiter.check_all(over)[0].allowed);
    EXPECT_EQ(limiter.check_all(checks)[0].remaining, 1);
}

// A cost spends that much; one out of range is refused before anything is
// written, the other buckets included.
TEST_P(StoreNamedLimitsTest, Cost) {
    const auto r = limiter.check_all(
        {bucket("k:K1:requests", "3/min"), bucket("i:acme:tokens", "100/min", 60)});
    EXPECT_EQ(r[1].remaining, 40);
    EXPECT_EQ(r[1].limit, 100);
    for (const std::int64_t bad : {0, 101}) {
        EXPECT_EQ(error_code_of([&] {
                      limiter.check_all({bucket("k:K2:requests", "3/min"),
                                         bucket("i:other:tokens", "100/min", bad)});
                  }),
                  ErrorCode::invalid_argument);
    }
    EXPECT_EQ(named_rows(), 2);
}

// The database answers what memory answers, check after check (remaining,
// reset_after_ms, retry_after_ms), through refusals and refills.
TEST_P(StoreNamedLimitsTest, SameAnswersAsMemory) {
    RateLimiter memory(clock, 1000);
    const std::vector<std::vector<BucketCheck>> steps{
        {bucket("k:K1:requests", "2/min"), bucket("i:acme:tokens", "10/min", 4)},
        {bucket("k:K1:requests", "2/min"), bucket("i:acme:tokens", "10/min", 7)},
        {bucket("k:K1:requests", "2/min"), bucket("i:acme:tokens", "10/min", 6)},
        {bucket("k:K1:requests", "2/min"), bucket("i:acme:trial", "1/min", 1, true)},
        {bucket("k:K1:requests", "2/min"), bucket("i:acme:trial", "1/min", 1, true)},
    };
    for (int round = 0; round < 2; ++round) {
        for (const auto& step : steps) {
            const auto in_db = limiter.check_all(step);
            const auto in_memory = memory.check_all(step);
            ASSERT_EQ(in_db.size(), in_memory.size());
            for (std::size_t i = 0; i < in_db.size(); ++i) {
                EXPECT_EQ(in_db[i].to_json(), in_memory[i].to_json())
                    << "round " << round << ", " << step[i].bucket;
            }
            clock.advance(7'000);
        }
    }
}

// Checks from two connections at once never spend more than the burst, and
// two checks that name shared buckets in opposite orders do not deadlock
// (rows are locked in the buckets' order).
TEST_P(StoreNamedLimitsTest, ConcurrentChecksSpendTheBurstExactly) {
    auto other_store = open();
    StoreLimiter other(*other_store, clock);
    std::atomic<int> allowed{0};
    auto spend = [&](StoreLimiter& l, std::vector<BucketCheck> checks) {
        for (int i = 0; i < 12; ++i) {
            const auto r = l.check_all(checks);
            allowed += r[0].allowed && r[1].allowed ? 1 : 0;
        }
    };
    std::thread a(spend, std::ref(limiter),
                  std::vector<BucketCheck>{bucket("i:acme:requests", "10/h"),
                                           bucket("i:acme:tokens", "100/h")});
    std::thread b(spend, std::ref(other),
                  std::vector<BucketCheck>{bucket("i:acme:tokens", "100/h"),
                                           bucket("i:acme:requests", "10/h")});
    a.join();
    b.join();
    EXPECT_EQ(allowed.load(), 10);
}

// Refilled named rows are purged with the others (db.purge); counting ones stay.
TEST_P(StoreNamedLimitsTest, PurgeIdle) {
    limiter.check_all({bucket("k:K1:requests", "2/min")});
    clock.advance(k_minute);
    limiter.check_all({bucket("k:K2:requests", "2/min")});
    EXPECT_EQ(limiter.purge_idle(), 1);
    EXPECT_EQ(named_rows(), 1);
    EXPECT_EQ(limiter.check_all({bucket("k:K2:requests", "2/min")})[0].remaining, 0);
}

// LimitService with count_in_store (pbctl on the database) counts named
// limits in the database, shadow denials counted for /metrics as in memory.
TEST_P(StoreNamedLimitsTest, ServiceCountsInTheDatabase) {
    const auto service_on = [&](store::Store& s) {
        return std::make_unique<LimitService>(
            clock, *bans, LimitSettings{},
            LimitSources{.store = &s, .follower = nullptr, .count_in_store = true});
    };
    auto other_store = open();
    auto run1 = service_on(*store);
    auto run2 = service_on(*other_store);
    EXPECT_EQ(run1->backend(), "database");
    const std::vector<BucketCheck> checks{bucket("k:K1:requests", "1/min"),
                                          bucket("k:K1:trial", "1/min", 1, true)};
    EXPECT_TRUE(run1->check_buckets(checks, LimitUse::decision)[0].allowed);
    const auto second = run2->check_buckets(checks, LimitUse::decision);
    EXPECT_FALSE(second[0].allowed);  // the first run's spend counts
    EXPECT_EQ(named_rows(), 2);
    EXPECT_EQ(run2->named_shadow_denied(), 1u);
}

PB_INSTANTIATE_BACKENDS(StoreNamedLimitsTest);

}  // namespace
}  // namespace pb::limits::test
