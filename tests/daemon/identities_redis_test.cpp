// Named limits in Redis: two pbd on one PostgreSQL and one Redis, and pbctl
// on the database given that Redis, spend from one bucket per limit, costs
// included; an identity's credits are one count for all of them.
#include <chrono>
#include <thread>

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

// identity:ID in Redis: the keys of one identity spend one counter, whichever
// daemon they call (the check-ahead batch and the check agree on it).
TEST(IdentitiesWithRedis, AnIdentityOverrideIsOneCounterAcrossDaemons) {
    TempDir dir;
    TestDb db{Backend::postgres};
    RedisServer redis;
    const DaemonOptions o{.env = only_own_limits({{"PB_MASTER_KEY_FILE", dir.file("master.key")},
                                                  {"PB_REDIS", redis.url()}}),
                          .db = db.url()};
    RunningDaemon a(dir, o);
    RunningDaemon b(dir, o);
    const auto admin = a.bootstrap_key();
    ASSERT_FALSE(admin.empty()) << a.err();
    ASSERT_EQ(post(a, "/v1/identities", {{"id", "acme"}}, admin).value("id", ""), "acme");
    const auto set =
        post(a, "/v1/limits/overrides", {{"target", "identity:acme"}, {"rate", "3/min"}}, admin);
    ASSERT_EQ(set.value("policy", ""), "override:identity:acme") << set.dump();
    const auto make_key = [&] {
        return post(a, "/v1/keys",
                    {{"owner", "acme"}, {"identity", "acme"}, {"permissions", {"identities:read"}}},
                    admin);
    };
    const auto key1 = make_key();
    const auto key2 = make_key();
    const std::string k1 = key1.value("key", "");
    const std::string k2 = key2.value("key", "");
    const auto get = [&](const RunningDaemon& pbd, const std::string& key) {
        return pbd.client()->Get("/v1/identities/acme", bearer(key));
    };
    EXPECT_EQ(status_of(get(a, k1)), 200);
    // b may not have followed the override yet: wait (bounded) until it applies it.
    bool applied = false;
    for (int i = 0; i < 50 && !applied; ++i) {
        const auto st = body_json(
            b.client()->Get("/v1/limits/key/" + key2.value("id", std::string()), bearer(admin)));
        applied = st["policy"].is_object() && st["policy"]["name"] == "override:identity:acme";
        if (!applied) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }
    ASSERT_TRUE(applied);
    EXPECT_EQ(status_of(get(b, k2)), 200);
    EXPECT_EQ(status_of(get(a, k2)), 200);
    const auto refused = get(b, k1);
    EXPECT_EQ(status_of(refused), 429) << (refused ? refused->body : "");
}

}  // namespace
}  // namespace pb::test
