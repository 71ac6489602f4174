// Durations and points in time beyond pb's maximum, through pbd: HTTP answers
// 400 naming the field and the maximum, pbctl --server exits 2 naming the flag;
// nothing is written.
#include "tests/daemon/daemon_fixture.hpp"

namespace pb::test {
namespace {

using nlohmann::json;

// Pins issue 21 over HTTP: states ttl, tokens ttl, keys expires and bans for,
// as text up to int64's last day and as JSON numbers up to (and past) int64.
TEST(TimeLimitsHttp, BeyondTheMaximumIs400NamingIt) {
    TempDir dir;
    RunningDaemon pbd(dir);
    const auto admin = pbd.bootstrap_key();
    auto c = pbd.client();
    const auto too_long = std::string("expected a duration of at most 36500d (100 years)");
    const auto too_far = std::string(
        "expected a time from 1970-01-01T00:00:00Z to "
        "9999-12-31T23:59:59.999Z");
    struct Case {
        std::string path;
        json body;
        std::string field;
        std::string message;
    };
    const std::vector<Case> cases{
        {"/v1/states",
         {{"id", "s1"}, {"type", "session"}, {"ttl", "106751991167d"}},
         "ttl",
         too_long},
        {"/v1/states",
         {{"id", "s1"}, {"type", "session"}, {"ttl", std::int64_t{9'223'372'036'854'775'807}}},
         "ttl",
         too_long},
        {"/v1/states",
         {{"id", "s1"}, {"type", "session"}, {"ttl", std::uint64_t{18'000'000'000'000'000'000ULL}}},
         "ttl",
         too_long},
        {"/v1/tokens", {{"sub", "u1"}, {"ttl", "106751991167d"}}, "ttl", too_long},
        {"/v1/keys", {{"owner", "ci"}, {"expires", "106751991167d"}}, "expires", too_long},
        {"/v1/keys",
         {{"owner", "ci"}, {"expires", std::int64_t{253'402'300'800'000}}},
         "expires",
         too_far},
        {"/v1/bans", {{"target", "198.51.100.1"}, {"for", "106751991167d"}}, "for", too_long},
        {"/v1/bans",
         {{"target", "198.51.100.1"}, {"for", std::int64_t{3'153'600'000'001}}},
         "for",
         too_long},
    };
    for (const auto& k : cases) {
        SCOPED_TRACE(k.path + " " + k.body.dump());
        const auto res = c->Post(k.path.c_str(), bearer(admin), k.body.dump(), "application/json");
        EXPECT_EQ(status_of(res), 400);
        const auto err = body_json(res);
        EXPECT_EQ(err["param"], k.field) << err.dump();
        EXPECT_TRUE(err["detail"].get<std::string>().starts_with(k.field + ": " + k.message))
            << err.dump();
    }
    EXPECT_EQ(body_json(c->Get("/v1/states", bearer(admin)))["states"].size(), 0U);
    EXPECT_EQ(body_json(c->Get("/v1/bans", bearer(admin)))["bans"].size(), 0U);
    // Only the bootstrap key.
    EXPECT_EQ(body_json(c->Get("/v1/keys", bearer(admin)))["keys"].size(), 1U);
    // The maximum itself is accepted.
    EXPECT_EQ(status_of(c->Post("/v1/states", bearer(admin),
                                json{{"id", "s2"}, {"type", "session"}, {"ttl", "36500d"}}.dump(),
                                "application/json")),
              201);
}

// Pins issue 21 through pbctl --server: the same refusals, exit 2, naming the flag.
TEST(TimeLimitsHttp, PbctlServerRefusesNamingTheFlag) {
    TempDir dir;
    RunningDaemon pbd(dir);
    const std::map<std::string, std::string> env{{"PB_SERVER", pbd.url()},
                                                 {"PB_API_KEY", pbd.bootstrap_key()}};
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases{
        {{"states", "register", "s1", "--type", "session", "--ttl", "106751991167d"}, "--ttl"},
        {{"tokens", "issue", "--sub", "u1", "--ttl", "106751991167d"}, "--ttl"},
        {{"keys", "create", "--owner", "ci", "--expires", "106751991167d"}, "--expires"},
        {{"bans", "add", "198.51.100.1", "--for", "106751991167d"}, "--for"},
    };
    for (const auto& [args, flag] : cases) {
        std::vector<std::string> argv{pbctl_path()};
        argv.insert(argv.end(), args.begin(), args.end());
        const auto r = run(argv, env);
        EXPECT_EQ(r.exit_code, 2) << flag << ": " << r.err;
        EXPECT_NE(
            r.err.find("pbctl: " + flag + ": expected a duration of at most 36500d (100 years)"),
            std::string::npos)
            << r.err;
    }
    const auto list = run({pbctl_path(), "states", "list", "-o", "json"}, env);
    EXPECT_EQ(json::parse(list.out)["states"].size(), 0U) << list.out << list.err;
}

}  // namespace
}  // namespace pb::test
