// Rate limits counted in a real Redis: the same answers as in memory, one
// bucket for every process, the time from Redis, and the failure policy.
#include "common/limits/redis_limiter.hpp"

#include <atomic>
#include <thread>

#include "common/limits/service.hpp"
#include "common/redis/client.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/unit/limits/ban_fixture.hpp"

namespace pb::limits::test {
namespace {

using pb::test::RedisServer;

redis::ClientOptions options_for(const std::string& url) {
    redis::ClientOptions o;
    o.connect.url = redis::parse_redis_url(url);
    o.connect.command_timeout = std::chrono::milliseconds(500);
    o.pool_size = 8;
    o.backoff_max = std::chrono::milliseconds(200);
    return o;
}

LimitSettings settings() {
    LimitSettings s;
    s.ip = parse_policy("10/min", 3, "ip");
    s.user = parse_policy("100/min", 0, "user");
    s.key = std::nullopt;
    s.violations = {3, k_minute};
    s.on_failure = OnFailure::closed;
    s.on_failure_api = OnFailure::open;
    return s;
}

class RedisLimitTest : public BanServiceTest {
  protected:
    RedisLimitTest() : client(options_for(server.url())) {
        limits = std::make_unique<LimitService>(clock, *bans, settings(), &client);
        memory = std::make_unique<LimitService>(clock, *bans, settings());
    }

    RedisServer server;
    redis::Client client;
    std::unique_ptr<LimitService> limits;
    std::unique_ptr<LimitService> memory;
};

// A run of checks with costs 1, 1, 2 (refused), 1 (refused: no credit yet)
// answers as the in-memory limiter does: Redis's time has moved by a few
// milliseconds at most, so only the times may differ, and by little.
TEST_P(RedisLimitTest, SameAnswersAsInMemory) {
    EXPECT_EQ(limits->backend(), "redis");
    for (const std::int64_t cost : {1, 1, 2, 1, 1, 1}) {
        const auto r = limits->check(Scope::ip, "198.51.100.4", cost);
        const auto m = memory->check(Scope::ip, "198.51.100.4", cost);
        EXPECT_EQ(r.allowed, m.allowed) << "cost " << cost;
        EXPECT_EQ(r.limit, m.limit);
        EXPECT_EQ(r.remaining, m.remaining);
        EXPECT_NEAR(r.reset_after_ms, m.reset_after_ms, 250);
        EXPECT_NEAR(r.retry_after_ms, m.retry_after_ms, 250);
        EXPECT_FALSE(r.degraded);
    }
    const auto r = limits->status(Scope::ip, "198.51.100.4");
    const auto m = memory->status(Scope::ip, "198.51.100.4");
    EXPECT_EQ(r.allowed, m.allowed);
    EXPECT_EQ(r.remaining, m.remaining);
}

// Every spelling of an address is one bucket, named by its canonical text;
// the bucket expires once it would have refilled.
TEST_P(RedisLimitTest, OneReadableBucketPerAddressThatExpires) {
    EXPECT_EQ(limits->check(Scope::ip, "::ffff:198.51.100.4").remaining, 2);
    EXPECT_EQ(limits->check_address(*parse_ip("198.51.100.4")).remaining, 1);
    const auto ttl = client.command({"PTTL", "pb:rl:ip:198.51.100.4"}).integer;
    EXPECT_GT(ttl, 0);
    EXPECT_LE(ttl, 12'000 + 1000);
    EXPECT_EQ(limits->status(Scope::ip, "198.51.100.4").remaining, 1);  // spends nothing
    EXPECT_EQ(limits->status(Scope::ip, "198.51.100.4").remaining, 1);
    EXPECT_TRUE(limits->reset(Scope::ip, "198.51.100.4"));
    EXPECT_FALSE(limits->reset(Scope::ip, "198.51.100.4"));
    EXPECT_EQ(limits->check(Scope::ip, "198.51.100.4").remaining, 2);
}

// Two "processes" (two services, their own clients) on 8 threads spend 400
// checks of one user with 100/min: exactly 100 pass.
TEST_P(RedisLimitTest, ProcessesShareOneBucketExactly) {
    redis::Client other_client(options_for(server.url()));
    LimitService other(clock, *bans, settings(), &other_client);
    std::atomic<int> allowed{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&, t] {
            auto& service = t % 2 == 0 ? *limits : other;
            for (int i = 0; i < 50; ++i) {
                if (service.check(Scope::user, "alice").allowed) {
                    ++allowed;
                }
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    EXPECT_EQ(allowed.load(), 100);
}

// The time is Redis's: services whose clocks disagree by two hours still
// share the bucket as if they agreed.
TEST_P(RedisLimitTest, DaemonClocksDoNotMatter) {
    ManualClock ahead(clock.now() + 2 * k_hour);
    redis::Client other_client(options_for(server.url()));
    LimitService other(ahead, *bans, settings(), &other_client);
    EXPECT_EQ(limits->check(Scope::ip, "203.0.113.1").remaining, 2);
    EXPECT_EQ(other.check(Scope::ip, "203.0.113.1").remaining, 1);
    EXPECT_EQ(limits->check(Scope::ip, "203.0.113.1").remaining, 0);
    EXPECT_FALSE(other.check(Scope::ip, "203.0.113.1").allowed);
}

// Violations count in Redis too: the third denial within the window bans the
// address, once, whichever process saw it.
TEST_P(RedisLimitTest, ViolationsBanAcrossProcesses) {
    redis::Client other_client(options_for(server.url()));
    LimitService other(clock, *bans, settings(), &other_client);
    for (int i = 0; i < 3; ++i) {
        EXPECT_TRUE(limits->check(Scope::ip, "198.51.100.9").allowed);
    }
    EXPECT_FALSE(limits->check(Scope::ip, "198.51.100.9").allowed);
    EXPECT_FALSE(other.check(Scope::ip, "198.51.100.9").allowed);
    EXPECT_FALSE(banned("198.51.100.9"));
    const auto third = limits->check(Scope::ip, "198.51.100.9");
    EXPECT_FALSE(third.allowed);
    EXPECT_TRUE(third.ban_due);
    ASSERT_TRUE(banned("198.51.100.9"));
    EXPECT_EQ(bans->check("198.51.100.9")->origin, BanOrigin::auto_ban);
}

// One script call checks a batch as pbd's workers send it: buckets that
// recur (a busy key, a gateway's address), two policies, denials that count
// toward a ban. Each answer is the one the in-memory limiter gives for the
// same checks in the same order, and what the batch leaves in Redis (arrival
// times, the violation count) carries on as memory's state does.
TEST_P(RedisLimitTest, OneBatchAnswersAsChecksInOrder) {
    const auto tight = *parse_policy("10/min", 3, "ip");
    const auto loose = *parse_policy("100/min", 0, "user");
    const ViolationRule rule{2, k_minute};
    const std::vector<std::string> a0 = gcra_args(tight, 1, rule, true);
    const std::vector<std::string> a1 = gcra_args(loose, 1, rule, true);
    const std::vector<std::string> keys = {"pb:rl:ip:a", "pb:rl:user:b", "pb:rl:ip:a",
                                           "pb:rl:ip:a", "pb:rl:ip:a",   "pb:rl:user:b",
                                           "pb:rl:ip:a", "pb:rl:ip:a"};
    std::vector<std::string_view> argv;
    for (const auto& k : keys) {
        argv.emplace_back(k.find(":ip:") != std::string::npos ? "0" : "1");
    }
    argv.insert(argv.end(), a0.begin(), a0.end());
    argv.insert(argv.end(), a1.begin(), a1.end());
    const std::vector<std::string_view> key_views(keys.begin(), keys.end());
    const auto reply = client.eval(gcra_script(), key_views, argv);

    RateLimiter memory_limiter(clock, 1000);
    for (std::size_t i = 0; i < keys.size(); ++i) {
        const bool ip = keys[i].find(":ip:") != std::string::npos;
        const auto r = gcra_result(reply, i, ip ? tight : loose, 1, true);
        const auto m = memory_limiter.check(keys[i], ip ? tight : loose, 1, rule);
        EXPECT_EQ(r.allowed, m.allowed) << "check " << i;
        EXPECT_EQ(r.remaining, m.remaining) << "check " << i;
        EXPECT_EQ(r.ban_due, m.ban_due) << "check " << i;
        EXPECT_NEAR(r.reset_after_ms, m.reset_after_ms, 250) << "check " << i;
        EXPECT_NEAR(r.retry_after_ms, m.retry_after_ms, 250) << "check " << i;
    }
    // a: three allowed, a denial, a denial that bans (the count restarts),
    // a denial counted again; b: two allowed.
    EXPECT_EQ(client.command({"HGET", "pb:rl:ip:a:v", "v"}).str, "1");
    RedisLimiter redis_limiter(client);
    const auto again = redis_limiter.check("pb:rl:ip:a", tight, 1, rule);
    EXPECT_FALSE(again.allowed);
    EXPECT_TRUE(again.ban_due);
    EXPECT_TRUE(memory_limiter.check("pb:rl:ip:a", tight, 1, rule).ban_due);
    EXPECT_EQ(client.command({"EXISTS", "pb:rl:ip:a:v"}).integer, 0);
    EXPECT_EQ(redis_limiter.status("pb:rl:user:b", loose).remaining,
              memory_limiter.status("pb:rl:user:b", loose).remaining);
    EXPECT_GT(client.command({"PTTL", "pb:rl:user:b"}).integer, 0);
}

// Redis down: decisions (GET /v1/auth, limits.check) fail closed by default,
// pbd's own API fails open, both are counted, and a bad cost is still a bad
// argument. Redis back: answers again without a new client.
TEST_P(RedisLimitTest, FailurePolicyWhileRedisIsDown) {
    EXPECT_TRUE(limits->check(Scope::user, "bob").allowed);
    server.stop();
    try {
        limits->check(Scope::user, "bob");
        FAIL() << "failed open";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::unavailable);
        EXPECT_EQ(e.details().value("redis", ""), "unavailable");
        EXPECT_NE(std::string(e.what()).find("redis.on_failure is closed"), std::string::npos);
    }
    const auto open = limits->check(Scope::user, "bob", 1, std::nullopt, LimitUse::api);
    EXPECT_TRUE(open.allowed);
    EXPECT_TRUE(open.degraded);
    EXPECT_EQ(open.limit, 0);  // no RateLimit-* headers for an uncounted answer
    EXPECT_EQ(error_code_of([&] { limits->check(Scope::user, "bob", 1000); }),
              ErrorCode::invalid_argument);
    EXPECT_EQ(error_code_of([&] { limits->status(Scope::user, "bob"); }), ErrorCode::unavailable);
    EXPECT_EQ(limits->failed_closed(), 1u);
    EXPECT_EQ(limits->failed_open(), 1u);

    server.start();
    bool back = false;
    for (int i = 0; i < 500 && !back; ++i) {
        try {
            back = limits->check(Scope::user, "bob").allowed;
        } catch (const Error&) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }
    EXPECT_TRUE(back);
}

INSTANTIATE_TEST_SUITE_P(, RedisLimitTest, ::testing::Values(pb::test::Backend::sqlite),
                         pb::test::backend_name);

}  // namespace
}  // namespace pb::limits::test
