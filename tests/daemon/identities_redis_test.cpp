// Named limits in Redis: two pbd on one PostgreSQL and one Redis, and pbctl
// on the database given that Redis, spend from one bucket per limit, costs
// included; an identity's credits are one count for all of them.
#include <gtest/gtest.h>

#include "tests/daemon/daemon_fixture.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/test_db.hpp"

namespace pb::test {
namespace {

using nlohmann::json;

json post(const RunningDaemon& pbd, const std::string& path, const json& body,
          const std::string& key) {
    return body_json(
        pbd.client()->Post(path.c_str(), bearer(key), body.dump(), "application/json"));
}

TEST(IdentitiesWithRedis, NamedLimitsAndCreditsAreSharedByDaemonsAndPbctl) {
    TempDir dir;
    TestDb db{Backend::postgres};
    RedisServer redis;
    const DaemonOptions o{.env = {{"PB_MASTER_KEY_FILE", dir.file("master.key")},
                                  {"PB_REDIS", redis.url()},
                                  {"PB_LIMITS_IP_RATE", "off"},
                                  {"PB_LIMITS_KEY_RATE", "off"},
                                  {"PB_BANS_AUTO_THRESHOLD", "0"}},
                          .db = db.url()};
    RunningDaemon a(dir, o);
    RunningDaemon b(dir, o);
    const auto admin = a.bootstrap_key();
    ASSERT_FALSE(admin.empty()) << a.err();
    const auto made = post(a, "/v1/identities",
                           {{"id", "acme"},
                            {"remaining", 3},
                            {"limits", {{{"name", "tokens"}, {"rate", "1000/day"}}}}},
                           admin);
    ASSERT_EQ(made.value("id", ""), "acme") << made.dump();
    const auto key = post(a, "/v1/keys", {{"owner", "acme"}, {"identity", "acme"}}, admin);
    const std::string text = key.value("key", "");
    ASSERT_FALSE(text.empty()) << key.dump();
    const auto verify = [&](const RunningDaemon& pbd, int cost) {
        return post(pbd, "/v1/keys/verify",
                    {{"key", text}, {"limits", {{{"name", "tokens"}, {"cost", cost}}}}}, "");
    };
    EXPECT_EQ(verify(a, 600).value("valid", false), true);
    const auto refused = verify(b, 600);  // B sees A's spend: one bucket
    EXPECT_EQ(refused.value("reason", ""), "rate_limited") << refused.dump();
    EXPECT_EQ(refused.value("limit", ""), "tokens");
    const auto pbctl = [&](const std::string& cost) {
        return run({pbctl_path(), "--redis", redis.url(), "keys", "verify", "-", "--cost",
                    "tokens=" + cost, "-o", "json"},
                   {{"PB_DB", db.url()},
                    {"PB_MASTER_KEY_FILE", dir.file("master.key")},
                    {"PB_LIMITS_KEY_RATE", "off"}},
                   text + "\n");
    };
    const auto spent = pbctl("400");
    EXPECT_EQ(spent.exit_code, 0) << spent.out << spent.err;
    const auto over = pbctl("1");
    EXPECT_EQ(over.exit_code, 3) << over.out << over.err;
    EXPECT_EQ(json::parse(over.out, nullptr, false).value("limit", ""), "tokens") << over.out;
    // Two uses were admitted (A's and pbctl's) of the identity's 3 credits:
    // one left, spent by B; then every process finds none.
    const auto last = post(b, "/v1/keys/verify", {{"key", text}}, "");
    EXPECT_EQ(last.value("valid", false), true) << last.dump();
    EXPECT_EQ(last["identity"].value("remaining", -1), 0) << last.dump();
    EXPECT_EQ(post(a, "/v1/keys/verify", {{"key", text}}, "").value("reason", ""), "exhausted");
}

}  // namespace
}  // namespace pb::test
