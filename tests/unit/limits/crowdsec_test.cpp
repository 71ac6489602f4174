#include "common/limits/crowdsec.hpp"

#include <gtest/gtest.h>

#include "common/core/error.hpp"

namespace pb::limits::crowdsec {
namespace {

using nlohmann::json;

// Pins: durations read as Go's time.Duration.String() writes them, which is
// what CrowdSec's bouncers parse (time.ParseDuration).
TEST(CrowdSecFormat, DurationsAreGoSyntax) {
    EXPECT_EQ(go_duration(0), "0s");
    EXPECT_EQ(go_duration(250), "250ms");
    EXPECT_EQ(go_duration(-998), "-998ms");
    EXPECT_EQ(go_duration(1000), "1s");
    EXPECT_EQ(go_duration(4200), "4.2s");
    EXPECT_EQ(go_duration(-4200), "-4.2s");
    EXPECT_EQ(go_duration(60'000), "1m0s");
    EXPECT_EQ(go_duration(90'500), "1m30.5s");
    EXPECT_EQ(go_duration(3'600'000), "1h0m0s");
    EXPECT_EQ(go_duration(14'352'500), "3h59m12.5s");
    EXPECT_EQ(go_duration(k_permanent_ms), "87600h0m0s");
}

Ban ban_of(const std::string& target, const std::string& reason, BanOrigin origin) {
    Ban b;
    b.id = 7;
    b.target = parse_target(target);
    b.reason = reason;
    b.origin = origin;
    return b;
}

// Pins: a decision has CrowdSec's fields; manual bans are "cscli", automatic
// ones "crowdsec"; a ban without a reason still has a scenario.
TEST(CrowdSecFormat, DecisionShape) {
    auto b = ban_of("10.0.0.0/8", "", BanOrigin::auto_ban);
    b.expires_at = 61'000;
    const auto d = decision_json(b, 1000);
    EXPECT_EQ(d, (json{{"id", 7},
                       {"origin", "crowdsec"},
                       {"type", "ban"},
                       {"scope", "Range"},
                       {"value", "10.0.0.0/8"},
                       {"duration", "1m0s"},
                       {"scenario", "pb/ban"},
                       {"simulated", false}}));
    EXPECT_EQ(decision_json(ban_of("192.0.2.1", "x", BanOrigin::manual), 0)["origin"], "cscli");
    EXPECT_EQ(decision_json(ban_of("192.0.2.1", "x", BanOrigin::manual), 0)["scope"], "Ip");
}

// Pins: filters select by scope, origin and scenario substrings; unknown
// scopes and origins, empty words and repeated parameters are invalid_argument.
TEST(CrowdSecFilter, SelectsAndRefusesUnknownValues) {
    const auto ip = ban_of("192.0.2.1", "ssh brute", BanOrigin::manual);
    const auto range = ban_of("10.0.0.0/8", "bad net", BanOrigin::auto_ban);
    const auto f = [](json q) { return parse_filter(q); };
    EXPECT_TRUE(f(json::object()).matches(ip));
    EXPECT_TRUE(f(json::object()).matches(range));
    EXPECT_FALSE(f(json::object()).matches(ban_of("user:bob", "", BanOrigin::manual)));
    EXPECT_FALSE(f({{"scopes", "range"}}).matches(ip));
    EXPECT_TRUE(f({{"scopes", "IP,Range"}}).matches(ip));
    EXPECT_FALSE(f({{"origins", "crowdsec"}}).matches(ip));
    EXPECT_TRUE(f({{"origins", "crowdsec"}}).matches(range));
    EXPECT_TRUE(f({{"scenarios_containing", "net,xyz"}}).matches(range));
    EXPECT_FALSE(f({{"scenarios_not_containing", "ssh"}}).matches(ip));
    for (const json& q : {json{{"scopes", "foo"}}, json{{"scopes", ""}}, json{{"scopes", "ip,"}},
                          json{{"origins", "nobody"}}, json{{"scopes", {"ip", "range"}}},
                          json{{"scenarios_containing", std::string(300, 'a')}}}) {
        EXPECT_THROW(parse_filter(q), Error) << q;
    }
    EXPECT_TRUE(parse_bool("startup", "true"));
    EXPECT_FALSE(parse_bool("startup", "0"));
    EXPECT_THROW(parse_bool("startup", "maybe"), Error);
    EXPECT_THROW(parse_bool("startup", ""), Error);
}

}  // namespace
}  // namespace pb::limits::crowdsec
