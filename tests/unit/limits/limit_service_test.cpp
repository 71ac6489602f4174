#include "common/limits/service.hpp"
#include "tests/support/errors.hpp"
#include "tests/unit/limits/ban_fixture.hpp"

namespace pb::limits::test {
namespace {

Config config_with(std::map<std::string, std::string> env) {
    return Config::load(ConfigInputs{.flags = {}, .env = std::move(env), .file = "/dev/null"});
}

class LimitServiceTest : public BanServiceTest {
  protected:
    LimitServiceTest() {
        LimitSettings s;
        s.ip = parse_policy("10/min", 2, "ip");
        s.user = std::nullopt;
        s.key = parse_policy("100/s", 0, "key");
        s.violations = {3, k_minute};
        s.max_tracked = 10'000;
        limits = std::make_unique<LimitService>(clock, *bans, s);
    }
    std::unique_ptr<LimitService> limits;
};

// Repeated denials ban the identifier automatically; the ban then matches.
TEST_P(LimitServiceTest, RepeatedViolationsBan) {
    EXPECT_TRUE(limits->check(Scope::ip, "198.51.100.4").allowed);
    EXPECT_TRUE(limits->check(Scope::ip, "198.51.100.4").allowed);
    for (int i = 0; i < 2; ++i) {
        EXPECT_FALSE(limits->check(Scope::ip, "198.51.100.4").allowed);
        EXPECT_FALSE(banned("198.51.100.4"));
    }
    EXPECT_FALSE(limits->check(Scope::ip, "198.51.100.4").allowed);
    const auto ban = bans->check("198.51.100.4");
    ASSERT_NE(ban, nullptr);
    EXPECT_EQ(ban->origin, BanOrigin::auto_ban);
    EXPECT_EQ(ban->reason, "rate limit 10/min exceeded 3 times within 1m");
    EXPECT_EQ(*ban->expires_at - clock.now(), 5 * k_minute);
}

// Every spelling of an address, and the daemon's check_address, count in one bucket.
TEST_P(LimitServiceTest, OneBucketPerAddress) {
    EXPECT_EQ(limits->check(Scope::ip, "::ffff:198.51.100.4").remaining, 1);
    EXPECT_EQ(limits->check_address(*parse_ip("198.51.100.4")).remaining, 0);
    EXPECT_FALSE(limits->status(Scope::ip, "198.51.100.4").allowed);
    EXPECT_TRUE(limits->reset(Scope::ip, "0:0:0:0:0:ffff:c633:6404"));
    EXPECT_TRUE(limits->check(Scope::ip, "198.51.100.4").allowed);
    EXPECT_THROW(limits->check(Scope::ip, "198.51.100.400"), Error);
}

// The allow-list is limited like anyone but never banned.
TEST_P(LimitServiceTest, AllowListedAreLimitedNotBanned) {
    for (int i = 0; i < 10; ++i) {
        limits->check(Scope::ip, "127.0.0.1");
    }
    EXPECT_FALSE(limits->status(Scope::ip, "127.0.0.1").allowed);
    EXPECT_FALSE(banned("127.0.0.1"));
}

// A scope without a policy always allows; an override replaces the scope's policy.
TEST_P(LimitServiceTest, OffAndOverride) {
    for (int i = 0; i < 1000; ++i) {
        ASSERT_TRUE(limits->check(Scope::user, "alice").allowed);
    }
    const auto own = parse_policy("1/min", 1, "rate_limit");
    EXPECT_TRUE(limits->check(Scope::key, "k1", 1, own).allowed);
    EXPECT_FALSE(limits->check(Scope::key, "k1", 1, own).allowed);
    EXPECT_TRUE(limits->check(Scope::key, "k2").allowed);  // the scope's 100/s
    EXPECT_TRUE(limits->reset(Scope::key, "k1"));
    EXPECT_TRUE(limits->check(Scope::key, "k1", 1, own).allowed);
}

// Identifiers are canonical: one client whatever its spelling.
TEST(LimitIds, Canonical) {
    EXPECT_EQ(canonical_id(Scope::ip, "::ffff:198.51.100.4"), "198.51.100.4");
    EXPECT_EQ(canonical_id(Scope::ip, "2001:DB8::1"), "2001:db8::1");
    EXPECT_EQ(canonical_id(Scope::user, "Mallory"), "Mallory");
    EXPECT_THROW(canonical_id(Scope::ip, "300.1.1.1"), Error);
    EXPECT_THROW(canonical_id(Scope::user, ""), Error);
    EXPECT_THROW(canonical_id(Scope::key, "a\nb"), Error);
}

// The defaults of the config key table make valid settings.
TEST(LimitSettingsConfig, DefaultsAreValid) {
    const auto config = config_with({});
    const auto l = limit_settings_from_config(config);
    EXPECT_EQ(l.ip->rate_text(), "100/s");
    EXPECT_EQ(l.violations.threshold, 20);
    const auto b = ban_settings_from_config(config);
    EXPECT_EQ(b.allow.size(), 2U);
    EXPECT_TRUE(b.allow[0].contains(*parse_ip("127.0.0.1")));
    EXPECT_EQ(b.auto_factor, 2);
}

// Bad settings name the key.
TEST(LimitSettingsConfig, BadSettingsNameTheKey) {
    auto message = [](std::map<std::string, std::string> env, bool bans) {
        const auto e = pb::test::thrown_error([&] {
            const auto c = config_with(std::move(env));
            if (bans) {
                ban_settings_from_config(c);
            } else {
                limit_settings_from_config(c);
            }
        });
        if (!e) {
            return std::string("accepted");
        }
        EXPECT_EQ(e->code(), ErrorCode::invalid_argument);
        return std::string(e->what());
    };
    EXPECT_TRUE(message({{"PB_LIMITS_IP_RATE", "lots"}}, false).starts_with("limits.ip.rate: "));
    EXPECT_TRUE(
        message({{"PB_LIMITS_ALGORITHM", "leaky"}}, false).starts_with("limits.algorithm: "));
    EXPECT_EQ(message({{"PB_BANS_ALLOW", "10.0.0.0/8, 300.1.1.1"}}, true),
              "bans.allow: \"300.1.1.1\" is not an IPv4 or IPv6 address");
    EXPECT_TRUE(message({{"PB_BANS_AUTO_FACTOR", "0"}}, true).starts_with("bans.auto.factor: "));
    EXPECT_EQ(message({{"PB_LIMITS_USER_RATE", "off"}}, false), "accepted");
}

PB_INSTANTIATE_BACKENDS(LimitServiceTest);

}  // namespace
}  // namespace pb::limits::test
