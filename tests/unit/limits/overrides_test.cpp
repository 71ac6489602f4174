// Overrides of a scope's policy: targets, the index's precedence, the
// service on the store, and the limits they make LimitService apply
// (shadow included).
#include "common/limits/overrides.hpp"

#include "common/events/follower.hpp"
#include "common/limits/service.hpp"
#include "tests/unit/limits/ban_fixture.hpp"

namespace pb::limits::test {
namespace {

std::string target_text(std::string_view text) {
    return parse_override_target(text).text();
}

TEST(OverrideTarget, CanonicalForms) {
    EXPECT_EQ(target_text("ip:203.0.113.0/24"), "ip:203.0.113.0/24");
    EXPECT_EQ(target_text("ip:203.0.113.7/24"), "ip:203.0.113.0/24");  // host bits cleared
    EXPECT_EQ(target_text("ip:203.0.113.7/32"), "ip:203.0.113.7");
    EXPECT_EQ(target_text("ip:::ffff:203.0.113.7"), "ip:203.0.113.7");
    EXPECT_EQ(target_text("ip:2001:DB8::/32"), "ip:2001:db8::/32");
    EXPECT_EQ(parse_override_target("ip:203.0.113.7").kind, OverrideKind::exact);
    EXPECT_EQ(parse_override_target("ip:203.0.113.0/24").kind, OverrideKind::cidr);
    EXPECT_EQ(parse_override_target("user:acme-*").kind, OverrideKind::glob);
    EXPECT_EQ(parse_override_target("user:acme").kind, OverrideKind::exact);
    EXPECT_EQ(parse_override_target("key:abc?def").kind, OverrideKind::glob);
    EXPECT_EQ(parse_override_target("identity:acme").scope, OverrideScope::identity);
}

TEST(OverrideTarget, BadTargetsAreInvalidArgument) {
    for (const auto* bad : {"ip:10.0.0.0/33", "ip:300.1.1.1", "ip:10.0.0.0/",
                            "ip:", "user:", "key:", "identity:", "host:example", "acme-*", "",
                            "ip:10.*", "user:a\x01", "IP:10.0.0.1"}) {
        const auto e = pb::test::error_of([&] { parse_override_target(bad); });
        EXPECT_EQ(e.code(), ErrorCode::invalid_argument) << bad;
        EXPECT_EQ(e.details().value("param", ""), "target") << bad;
    }
    EXPECT_EQ(error_code_of([] { parse_override_target("user:" + std::string(201, 'a')); }),
              ErrorCode::invalid_argument);
}

TEST(OverrideTarget, GlobMatch) {
    EXPECT_TRUE(glob_match("acme-*", "acme-42"));
    EXPECT_TRUE(glob_match("acme-*", "acme-"));
    EXPECT_FALSE(glob_match("acme-*", "acme"));
    EXPECT_TRUE(glob_match("*", ""));
    EXPECT_TRUE(glob_match("a*b*c", "axxbyyc"));
    EXPECT_FALSE(glob_match("a*b*c", "axxbyy"));
    EXPECT_TRUE(glob_match("a?c", "abc"));
    EXPECT_FALSE(glob_match("a?c", "ac"));
    EXPECT_TRUE(glob_match("*-prod", "eu-web-prod"));
}

std::shared_ptr<const Override> override_of(std::int64_t id, const std::string& target,
                                            const std::string& rate) {
    auto o = std::make_shared<Override>();
    o->id = id;
    o->target = parse_override_target(target);
    o->policy = *parse_rate_limit(rate, "rate");
    return o;
}

// Exact before CIDR (longest prefix first) before glob (longest literal
// prefix first, then the newest).
TEST(OverrideIndexTest, Precedence) {
    const OverrideIndex index(
        {override_of(1, "ip:10.0.0.0/8", "1/s"), override_of(2, "ip:10.1.0.0/16", "2/s"),
         override_of(3, "ip:10.1.2.3", "3/s"), override_of(4, "user:acme-*", "4/s"),
         override_of(5, "user:acme-eu-*", "5/s"), override_of(6, "user:acme-eu-1", "6/s"),
         override_of(7, "user:*-eu-?", "7/s"), override_of(8, "user:acme*", "8/s"),
         override_of(9, "user:acme-*x", "9/s")});
    auto rate = [&](OverrideScope s, std::string_view id) {
        const auto* o = index.find(s, id);
        return o ? o->policy.count : 0;
    };
    EXPECT_EQ(rate(OverrideScope::ip, "10.1.2.3"), 3);
    EXPECT_EQ(rate(OverrideScope::ip, "10.1.2.4"), 2);
    EXPECT_EQ(rate(OverrideScope::ip, "10.2.0.1"), 1);
    EXPECT_EQ(rate(OverrideScope::ip, "11.0.0.1"), 0);
    EXPECT_EQ(rate(OverrideScope::user, "acme-eu-1"), 6);  // exact
    EXPECT_EQ(rate(OverrideScope::user, "acme-eu-2"), 5);  // longest literal prefix
    EXPECT_EQ(rate(OverrideScope::user, "acme-us"), 4);
    EXPECT_EQ(rate(OverrideScope::user, "acme-usx"), 9);  // same prefix "acme-": the newest
    EXPECT_EQ(rate(OverrideScope::user, "acmecorp"), 8);
    EXPECT_EQ(rate(OverrideScope::user, "zeta-eu-1"), 7);  // literal prefix ""
    EXPECT_EQ(rate(OverrideScope::user, "zeta"), 0);
    EXPECT_EQ(rate(OverrideScope::key, "acme-eu-1"), 0);  // another scope
}

// Without a glob of empty literal prefix, names are first checked against
// the literal prefixes cut to the shortest one's length: that check must not
// hide a longer prefix's glob.
TEST(OverrideIndexTest, GlobsBehindTheStartFilter) {
    const OverrideIndex index({override_of(1, "key:ab*", "1/s"), override_of(2, "key:abcd*", "2/s"),
                               override_of(3, "key:xy?z*", "3/s")});
    auto rate = [&](std::string_view id) {
        const auto* o = index.find(OverrideScope::key, id);
        return o ? o->policy.count : 0;
    };
    EXPECT_EQ(rate("abcdx"), 2);
    EXPECT_EQ(rate("abx"), 1);
    EXPECT_EQ(rate("ab"), 1);
    EXPECT_EQ(rate("xyqz1"), 3);
    EXPECT_EQ(rate("a"), 0);
    EXPECT_EQ(rate("ax"), 0);
    EXPECT_EQ(rate("xyz"), 0);
}

class OverrideServiceTest : public BanServiceTest {
  protected:
    OverrideServiceTest() {
        LimitSettings s;
        s.ip = parse_policy("100/min", 0, "ip");
        s.user = parse_policy("50/min", 0, "user");
        s.key = parse_policy("50/min", 0, "key");
        s.key_shadow = false;
        limits = std::make_unique<LimitService>(
            clock, *bans, s, LimitSources{.store = store.get(), .follower = &follower});
    }

    Override set(const std::string& target, const std::string& rate, bool shadow = false) {
        return limits->overrides()->set(
            NewOverride{.target = target, .rate = rate, .shadow = shadow}, "local:test");
    }

    events::Follower follower{*store};
    std::unique_ptr<LimitService> limits;
};

TEST_P(OverrideServiceTest, AnOverrideReplacesTheScopePolicy) {
    EXPECT_EQ(limits->status(Scope::ip, "203.0.113.9").policy, "scope:ip");
    EXPECT_EQ(limits->status(Scope::ip, "203.0.113.9").limit, 100);
    const auto o = set("ip:203.0.113.0/24", "2/min");
    EXPECT_EQ(o.policy_name(), "override:ip:203.0.113.0/24");
    EXPECT_EQ(o.created_by, "local:test");
    const auto first = limits->check(Scope::ip, "203.0.113.9");
    EXPECT_EQ(first.policy, "override:ip:203.0.113.0/24");
    EXPECT_EQ(first.limit, 2);
    EXPECT_TRUE(limits->check_address(*parse_ip("203.0.113.9")).allowed);
    EXPECT_FALSE(limits->check(Scope::ip, "203.0.113.9").allowed);
    // Outside the range: the scope's policy.
    EXPECT_EQ(limits->check(Scope::ip, "203.0.114.9").policy, "scope:ip");
    // Removed: the scope's policy again.
    limits->overrides()->remove("ip:203.0.113.0/24");
    EXPECT_EQ(limits->status(Scope::ip, "203.0.113.9").policy, "scope:ip");
    EXPECT_EQ(error_code_of([&] { limits->overrides()->remove("ip:203.0.113.0/24"); }),
              ErrorCode::not_found);
}

// A key's own limit comes before any override; overrides before the scope.
TEST_P(OverrideServiceTest, OwnLimitThenOverrideThenScope) {
    set("key:k1", "5/min");
    set("key:k*", "7/min");
    EXPECT_EQ(limits->check(Scope::key, "k1", 1, parse_policy("3/min", 0, "own")).policy, "key:k1");
    EXPECT_EQ(limits->check(Scope::key, "k1").policy, "override:key:k1");
    EXPECT_EQ(limits->check(Scope::key, "k2").policy, "override:key:k*");
    EXPECT_EQ(limits->check(Scope::key, "x2").policy, "scope:key");
}

// A key's own limit, then its identity's override (one counter for every key
// of the identity), then key overrides, then the scope.
TEST_P(OverrideServiceTest, IdentityOverrideComesAfterOwnLimitAndIsSharedByItsKeys) {
    set("key:k1", "5/min");
    set("identity:acme", "2/min");
    const auto own = parse_policy("3/min", 0, "own");
    EXPECT_EQ(limits->caller_limit(Scope::key, "k1", own, "acme").policy->name, "key:k1");
    const auto k1 = limits->caller_limit(Scope::key, "k1", std::nullopt, "acme");
    EXPECT_EQ(k1.policy->name, "override:identity:acme");
    EXPECT_EQ(k1.id, "identity:acme");
    // Without an identity, or of another one: the key override, per key.
    EXPECT_EQ(limits->caller_limit(Scope::key, "k1", std::nullopt).policy->name, "override:key:k1");
    const auto other = limits->caller_limit(Scope::key, "k1", std::nullopt, "globex");
    EXPECT_EQ(other.policy->name, "override:key:k1");
    EXPECT_EQ(other.id, "k1");
    // Two keys of acme spend one counter of 2.
    const auto k2 = limits->caller_limit(Scope::key, "k2", std::nullopt, "acme");
    EXPECT_TRUE(limits->check_applied(Scope::key, k1.id, 1, k1.policy).allowed);
    EXPECT_TRUE(limits->check_applied(Scope::key, k2.id, 1, k2.policy).allowed);
    const auto third = limits->check_applied(Scope::key, k1.id, 1, k1.policy);
    EXPECT_FALSE(third.allowed);
    EXPECT_EQ(third.policy, "override:identity:acme");
    EXPECT_EQ(limits->status_applied(Scope::key, k2.id, k2.policy).remaining, 0);
    // k1 alone under its key override is untouched.
    EXPECT_EQ(limits->status(Scope::key, "k1").remaining, 5);
    // Removed: back to the key override, per key.
    limits->overrides()->remove("identity:acme");
    EXPECT_EQ(limits->caller_limit(Scope::key, "k1", std::nullopt, "acme").id, "k1");
}

// Set by another process (another store on the database): seen at the next check.
TEST_P(OverrideServiceTest, ChangesElsewhereAreFollowed) {
    EXPECT_EQ(limits->status(Scope::user, "acme-1").policy, "scope:user");
    auto other_store = open();
    events::Follower other_follower(*other_store);
    OverrideService other(*other_store, clock, other_follower);
    other.set(NewOverride{.target = "user:acme-*", .rate = "1000/min"}, "local:other");
    EXPECT_TRUE(seen([&] { return limits->status(Scope::user, "acme-1").limit == 1000; }));
    other.remove("user:acme-*");
    EXPECT_TRUE(seen([&] { return limits->status(Scope::user, "acme-1").limit == 50; }));
}

// Malformed overrides change nothing.
TEST_P(OverrideServiceTest, BadOverridesWriteNothing) {
    for (const auto& [target, rate] :
         std::vector<std::pair<std::string, std::string>>{{"ip:203.0.113.0/33", "1/s"},
                                                          {"user:", "1/s"},
                                                          {"planet:earth", "1/s"},
                                                          {"ip:203.0.113.0/24", "lots"},
                                                          {"ip:203.0.113.0/24", "off"},
                                                          {"ip:203.0.113.0/24", "0/s"},
                                                          {"ip:203.0.113.0/24", "10/s,-1"}}) {
        EXPECT_EQ(error_code_of([&] { set(target, rate); }), ErrorCode::invalid_argument)
            << target << " " << rate;
    }
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM limit_overrides"), 0);
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM events WHERE topic = 'limits'"), 0);
}

// Setting a target again replaces it (one row, the new rate).
TEST_P(OverrideServiceTest, SetReplaces) {
    const auto a = set("user:acme-*", "10/min");
    const auto b = set("user:acme-*", "20/min,5", true);
    EXPECT_GT(b.id, a.id);
    const auto all = limits->overrides()->list();
    ASSERT_EQ(all.size(), 1u);
    EXPECT_EQ(all[0].policy.count, 20);
    EXPECT_EQ(all[0].policy.burst, 5);
    EXPECT_TRUE(all[0].shadow);
}

// A shadow override counts and reports but never refuses.
TEST_P(OverrideServiceTest, ShadowOverrideNeverRefuses) {
    set("user:acme-*", "2/min", true);
    for (int i = 0; i < 2; ++i) {
        const auto r = limits->check(Scope::user, "acme-1");
        EXPECT_TRUE(r.allowed);
        EXPECT_FALSE(r.shadow_limited);
    }
    for (int i = 0; i < 3; ++i) {
        const auto r = limits->check(Scope::user, "acme-1");
        EXPECT_TRUE(r.allowed);
        EXPECT_TRUE(r.shadow_limited);
        EXPECT_EQ(r.to_json().value("shadow_limited", false), true);
    }
    EXPECT_TRUE(limits->status(Scope::user, "acme-1").shadow_limited);
    EXPECT_EQ(limits->shadow_denials().snapshot().at("override:user:acme-*"), 3u);
    EXPECT_FALSE(banned("user:acme-1"));
}

// limits.<scope>.shadow: the scope's policy itself.
TEST_P(OverrideServiceTest, ShadowScope) {
    LimitSettings s;
    s.user = parse_policy("1/min", 0, "user");
    s.user_shadow = true;
    s.violations = {1, k_minute};
    LimitService shadowed(clock, *bans, s);
    EXPECT_FALSE(shadowed.check(Scope::user, "bob").shadow_limited);
    const auto r = shadowed.check(Scope::user, "bob");
    EXPECT_TRUE(r.allowed);
    EXPECT_TRUE(r.shadow_limited);
    EXPECT_EQ(r.policy, "scope:user");
    EXPECT_EQ(shadowed.shadow_denials().snapshot().at("scope:user"), 1u);
    EXPECT_FALSE(banned("user:bob"));  // never refused, so never banned
}

PB_INSTANTIATE_BACKENDS(OverrideServiceTest);

}  // namespace
}  // namespace pb::limits::test
