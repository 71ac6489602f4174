// pbctl keys verify on the database, without pbd or Redis: a key's and its
// identity's named limits (--limit NAME=RATE) count in the database, so run
// after run spends from one bucket (issue 25), all or none.
#include <atomic>
#include <chrono>
#include <thread>

#include "tests/cli/cli_fixture.hpp"
#include "tests/support/verify_answer.hpp"

namespace pb::cli::test {
namespace {

using nlohmann::json;
using pb::test::limit_of;

class LocalNamedLimitsTest : public PbctlTest {
  protected:
    LocalNamedLimitsTest() {
        // Only the named limits under test (the key scope's limit counts in
        // the database too, and would mix in).
        env["PB_LIMITS_KEY_RATE"] = "off";
    }

    // keys verify KEY (from stdin) with `extra`, -o json; `exit` expected.
    json verify(const std::string& key, std::vector<std::string> extra = {}, int exit = 0) {
        std::vector<std::string> args{"keys", "verify", "-", "-o", "json"};
        args.insert(args.end(), extra.begin(), extra.end());
        const auto r = pbctl(args, key + "\n");
        EXPECT_EQ(r.exit_code, exit) << describe(args, r);
        return json::parse(r.out, nullptr, false);
    }
};

// The case: a key limited to 2 requests a minute is verified by
// three separate runs; the third is refused (exit 3, a verdict), naming the
// limit, and so is the fourth. (Counted in memory, every run started afresh
// and allowed.)
TEST_F(LocalNamedLimitsTest, KeyLimitCountsAcrossRuns) {
    const auto key = create_key({"--limit", "requests=2/h:auto"});
    EXPECT_EQ(limit_of(verify(key), "requests")["remaining"], 1);
    EXPECT_EQ(limit_of(verify(key), "requests")["remaining"], 0);
    for (int i = 0; i < 2; ++i) {
        const auto refused = verify(key, {}, 3);
        EXPECT_EQ(refused.value("valid", true), false) << refused.dump();
        EXPECT_EQ(refused.value("reason", ""), "rate_limited");
        EXPECT_EQ(refused.value("limit", ""), "requests");
        EXPECT_GT(refused.value("retry_after_ms", 0), 0);
    }
    // Another key has its own bucket.
    const auto other = create_key({"--limit", "requests=2/h:auto"});
    EXPECT_EQ(limit_of(verify(other), "requests")["remaining"], 1);
}

// An identity's limit is one bucket for all its keys, across runs.
TEST_F(LocalNamedLimitsTest, IdentityLimitSharedByKeysAcrossRuns) {
    ok({"identities", "create", "acme", "--limit", "requests=3/h:auto"});
    const auto first = create_key({"--identity", "acme"});
    const auto second = create_key({"--identity", "acme"});
    EXPECT_EQ(limit_of(verify(first), "requests")["remaining"], 2);
    EXPECT_EQ(limit_of(verify(second), "requests")["remaining"], 1);
    EXPECT_EQ(limit_of(verify(first), "requests")["remaining"], 0);
    EXPECT_EQ(verify(second, {}, 3).value("limit", ""), "requests");
    EXPECT_EQ(verify(first, {}, 3).value("limit", ""), "requests");
}

// A verify refused by one limit spends none of the others: the key's
// requests are where they were, and the identity's tokens too.
TEST_F(LocalNamedLimitsTest, RefusedVerifySpendsNothing) {
    ok({"identities", "create", "acme", "--limit", "tokens=100/d"});
    const auto key = create_key({"--identity", "acme", "--limit", "requests=5/h:auto"});
    const auto spent = verify(key, {"--cost", "tokens=60"});
    EXPECT_EQ(limit_of(spent, "requests")["remaining"], 4);
    EXPECT_EQ(limit_of(spent, "tokens")["remaining"], 40);

    const auto refused = verify(key, {"--cost", "tokens=50"}, 3);
    EXPECT_EQ(refused.value("reason", ""), "rate_limited");
    EXPECT_EQ(refused.value("limit", ""), "tokens");

    const auto after = verify(key, {"--cost", "tokens=40"});
    EXPECT_EQ(limit_of(after, "requests")["remaining"], 3);  // 2 spent: the refusal spent none
    EXPECT_EQ(limit_of(after, "tokens")["remaining"], 0);

    // Refused by the key's own requests, it spends none of the identity's tokens.
    ok({"identities", "create", "beta", "--limit", "tokens=100/d"});
    const auto once = create_key({"--identity", "beta", "--limit", "requests=1/h:auto"});
    EXPECT_EQ(limit_of(verify(once, {"--cost", "tokens=10"}), "tokens")["remaining"], 90);
    EXPECT_EQ(verify(once, {"--cost", "tokens=10"}, 3).value("limit", ""), "requests");
    const auto sibling = create_key({"--identity", "beta"});
    EXPECT_EQ(limit_of(verify(sibling, {"--cost", "tokens=1"}), "tokens")["remaining"], 89);
}

// pbctl runs at once on one SQLite file never spend more than the limit:
// each verify reads and writes its buckets in one write transaction.
TEST_F(LocalNamedLimitsTest, RunsAtOnceSpendTheLimitExactly) {
    const auto key = create_key({"--limit", "requests=5/h:auto"});
    std::atomic<int> allowed{0};
    std::atomic<int> refused{0};
    const auto run = [&] {
        for (int i = 0; i < 4; ++i) {
            const auto r = pbctl({"keys", "verify", "-", "-q"}, key + "\n");
            (r.exit_code == 0 ? allowed : refused) += 1;
            EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 3) << r.exit_code << r.err;
        }
    };
    std::thread a(run);
    std::thread b(run);
    a.join();
    b.join();
    EXPECT_EQ(allowed.load(), 5);
    EXPECT_EQ(refused.load(), 3);
}

// A shadow limit counts across runs and reports, never refuses.
TEST_F(LocalNamedLimitsTest, ShadowCountsAcrossRunsAndNeverRefuses) {
    const auto key = create_key({"--limit", "trial=1/min:auto:shadow"});
    EXPECT_FALSE(verify(key).contains("shadow_limited"));
    for (int i = 0; i < 2; ++i) {
        const auto over = verify(key);
        EXPECT_EQ(over.value("valid", false), true) << over.dump();
        EXPECT_EQ(over.value("shadow_limited", json::array()), json::array({"trial"}));
        EXPECT_EQ(limit_of(over, "trial")["allowed"], false);
    }
}

// db purge forgets a named limit's row once it has refilled (a second after
// its one request, at 1/s), and not before the row could still refuse.
TEST_F(LocalNamedLimitsTest, DbPurgeForgetsRefilledRows) {
    const auto key = create_key({"--limit", "requests=1/s:auto"});
    const auto slow = create_key({"--limit", "requests=1/h:auto"});
    verify(key);
    verify(slow);
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    EXPECT_EQ(ok_json({"db", "purge"}).at("limit_counters"), 1);  // the 1/s one
    EXPECT_EQ(verify(slow, {}, 3).value("limit", ""), "requests");
    EXPECT_EQ(limit_of(verify(key), "requests")["remaining"], 0);
}

// The help says where named limits count in each mode.
TEST_F(LocalNamedLimitsTest, HelpSaysWhereTheyCount) {
    const auto help = ok({"keys", "verify", "--help"});
    EXPECT_NE(help.find("named limits in the database"), std::string::npos) << help;
    EXPECT_NE(help.find("--server"), std::string::npos) << help;
}

}  // namespace
}  // namespace pb::cli::test
