// pbctl limits … on the database, without pbd or Redis: the counts live in
// the database, so check, status and reset mean the same thing run after
// run (issue 25); overrides and shadow mode through the real binary.
#include "tests/cli/cli_fixture.hpp"

namespace pb::cli::test {
namespace {

using nlohmann::json;

class LocalLimitsTest : public PbctlTest {};

// The reproduction: PB_LIMITS_IP_RATE=2/min pbctl limits check
// 192.0.2.5 used to allow the third call and every one after it. Now the
// third is refused (exit 6, as any refusal of limits check), and so is the
// fourth; status agrees and reset gives the burst back.
TEST_F(LocalLimitsTest, TheThirdCallIsRefused) {
    env["PB_LIMITS_IP_RATE"] = "2/min";
    EXPECT_EQ(ok({"limits", "check", "192.0.2.5", "-q"}), "1\n");
    EXPECT_EQ(ok({"limits", "check", "192.0.2.5", "-q"}), "0\n");
    for (int i = 0; i < 2; ++i) {
        const auto third = pbctl({"limits", "check", "192.0.2.5", "-o", "json"});
        EXPECT_EQ(third.exit_code, 6) << describe({"limits", "check"}, third);
        const auto j = json::parse(third.out, nullptr, false);
        EXPECT_EQ(j.value("allowed", true), false) << third.out;
        EXPECT_EQ(j.value("reason", ""), "rate_limited");
        EXPECT_EQ(j.value("counted_in", ""), "database");
        EXPECT_GT(j.value("retry_after_ms", 0), 0);
        EXPECT_NE(third.err.find("rate_limited"), std::string::npos) << third.err;
    }
    const auto status = ok_json({"limits", "status", "192.0.2.5"});
    EXPECT_EQ(status.at("remaining"), 0);
    EXPECT_EQ(status.at("policy").at("name"), "scope:ip");
    // Another address, and another spelling of the same one.
    EXPECT_EQ(ok({"limits", "check", "192.0.2.6", "-q"}), "1\n");
    EXPECT_EQ(pbctl({"limits", "check", "::ffff:192.0.2.5"}).exit_code, 6);
    EXPECT_EQ(ok_json({"limits", "reset", "192.0.2.5"}).at("was_tracked"), true);
    EXPECT_EQ(ok({"limits", "check", "192.0.2.5", "-q"}), "1\n");
}

// Users and keys count across runs too, with --cost.
TEST_F(LocalLimitsTest, UsersAndCostAcrossRuns) {
    env["PB_LIMITS_USER_RATE"] = "10/h";
    EXPECT_EQ(ok({"limits", "check", "alice", "--scope", "user", "--cost", "7", "-q"}), "3\n");
    EXPECT_EQ(pbctl({"limits", "check", "alice", "--scope", "user", "--cost", "4"}).exit_code, 6);
    EXPECT_EQ(ok({"limits", "check", "alice", "--scope", "user", "--cost", "3", "-q"}), "0\n");
    EXPECT_EQ(ok({"limits", "status", "bob", "--scope", "user", "-q"}), "10\n");
}

// Overrides: set, listed, applied by the next run, named in the answer, removed.
TEST_F(LocalLimitsTest, Overrides) {
    env["PB_LIMITS_IP_RATE"] = "100/min";
    const auto set = ok_json(
        {"limits", "override", "set", "ip:203.0.113.0/24", "2/min", "--reason", "partner office"});
    EXPECT_EQ(set.at("target"), "ip:203.0.113.0/24");
    EXPECT_EQ(set.at("kind"), "cidr");
    EXPECT_EQ(set.at("rate"), "2/min");
    EXPECT_EQ(set.at("policy"), "override:ip:203.0.113.0/24");
    ok({"limits", "override", "set", "user:acme-*", "1000/min"});
    ok({"limits", "override", "set", "ip:203.0.113.7", "5/min"});
    const auto list = ok_json({"limits", "override", "list"});
    ASSERT_EQ(list.at("overrides").size(), 3u) << list.dump();
    EXPECT_NE(ok({"limits", "override", "list"}).find("user:acme-*"), std::string::npos);
    // A page at a time, by target.
    const auto page = ok_json({"limits", "override", "list", "--limit", "2"});
    ASSERT_EQ(page.at("overrides").size(), 2u) << page.dump();
    EXPECT_EQ(page.at("overrides")[0].at("target"), "ip:203.0.113.0/24");
    EXPECT_EQ(page.at("overrides")[1].at("target"), "ip:203.0.113.7");
    const auto rest = ok_json(
        {"limits", "override", "list", "--cursor", page.at("next_cursor").get<std::string>()});
    ASSERT_EQ(rest.at("overrides").size(), 1u) << rest.dump();
    EXPECT_EQ(rest.at("overrides")[0].at("target"), "user:acme-*");

    const auto first = ok_json({"limits", "check", "203.0.113.9"});
    EXPECT_EQ(first.at("policy").at("name"), "override:ip:203.0.113.0/24");
    EXPECT_EQ(first.at("limit"), 2);
    ok({"limits", "check", "203.0.113.9"});
    EXPECT_EQ(pbctl({"limits", "check", "203.0.113.9"}).exit_code, 6);
    // The exact address comes before the range holding it.
    EXPECT_EQ(ok_json({"limits", "status", "203.0.113.7"}).at("policy").at("name"),
              "override:ip:203.0.113.7");
    EXPECT_EQ(ok_json({"limits", "status", "acme-eu", "--scope", "user"}).at("limit"), 1000);
    EXPECT_EQ(ok_json({"limits", "status", "198.51.100.1"}).at("policy").at("name"), "scope:ip");

    EXPECT_EQ(ok_json({"limits", "override", "remove", "ip:203.0.113.0/24"}).at("removed"), true);
    EXPECT_EQ(ok_json({"limits", "status", "203.0.113.9"}).at("policy").at("name"), "scope:ip");
    const auto again = pbctl({"limits", "override", "remove", "ip:203.0.113.0/24"});
    EXPECT_EQ(again.exit_code, 4) << describe({"remove"}, again);
}

// Malformed overrides: exit 2, a message saying what is wrong, nothing written.
TEST_F(LocalLimitsTest, BadOverridesChangeNothing) {
    const std::vector<std::vector<std::string>> bad{
        {"ip:203.0.113.0/33", "1/s"},  // bad CIDR
        {"ip:300.1.1.1", "1/s"},       // bad address
        {"user:", "1/s"},              // empty
        {"planet:earth", "1/s"},       // unknown scope
        {"acme-*", "1/s"},             // no scope
        {"ip:10.*", "1/s"},            // glob on ip
        {"user:acme-*", "lots"},       // bad rate
        {"user:acme-*", "off"},        // no rate
    };
    for (const auto& args : bad) {
        std::vector<std::string> argv{"limits", "override", "set"};
        argv.insert(argv.end(), args.begin(), args.end());
        const auto r = pbctl(argv);
        EXPECT_EQ(r.exit_code, 2) << describe(argv, r);
        EXPECT_FALSE(r.err.empty());
    }
    EXPECT_EQ(
        pbctl({"limits", "override", "set", "user:a", "1/s", "--reason", std::string(501, 'x')})
            .exit_code,
        2);
    EXPECT_EQ(pbctl({"limits", "override", "remove", "ip:1.2.3.4/40"}).exit_code, 2);
    EXPECT_EQ(ok_json({"limits", "override", "list"}).at("overrides").size(), 0u);
}

// Shadow: an override set with --shadow, or a scope with limits.<scope>.shadow,
// counts and reports but never refuses (exit 0).
TEST_F(LocalLimitsTest, ShadowNeverRefuses) {
    env["PB_LIMITS_USER_RATE"] = "100/min";
    ok({"limits", "override", "set", "user:trial-*", "1/min", "--shadow"});
    ok({"limits", "check", "trial-1", "--scope", "user"});
    const auto r = ok_json({"limits", "check", "trial-1", "--scope", "user"});
    EXPECT_EQ(r.at("allowed"), true);
    EXPECT_EQ(r.value("shadow_limited", false), true);
    EXPECT_EQ(r.at("policy").at("shadow"), true);
    EXPECT_EQ(r.at("policy").at("name"), "override:user:trial-*");

    env["PB_LIMITS_IP_RATE"] = "1/min";
    env["PB_LIMITS_IP_SHADOW"] = "true";
    ok({"limits", "check", "192.0.2.1"});
    const auto ip = ok_json({"limits", "check", "192.0.2.1"});
    EXPECT_EQ(ip.value("shadow_limited", false), true);
    EXPECT_EQ(ip.at("policy").at("name"), "scope:ip");
}

// The help says where each mode counts.
TEST_F(LocalLimitsTest, HelpSaysWhereItCounts) {
    const auto help = ok({"limits", "check", "--help"});
    EXPECT_NE(help.find("counts in the database"), std::string::npos) << help;
    EXPECT_NE(help.find("--server to count in pbd"), std::string::npos) << help;
}

}  // namespace
}  // namespace pb::cli::test
