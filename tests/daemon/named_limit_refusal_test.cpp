// A request refused by a named limit (a key's or its identity's --limit
// NAME=RATE:auto) is answered like one refused by a scope's limit: 429 with
// Retry-After (whole seconds, rounded up, at least 1) and the RateLimit
// fields naming the limit, at the gate (/v1/auth) and on an op's route; a
// WebSocket op's error carries the same retry time. keys.verify keeps its
// contract: a 200 verdict {"valid":false,"reason":"rate_limited","limit",
// "retry_after_ms"}. A shadow limit is never announced.
#include "tests/daemon/daemon_fixture.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/test_db.hpp"
#include "tests/support/ws_client.hpp"

namespace pb::test {
namespace {

using nlohmann::json;

std::string header(const httplib::Result& r, const char* name) {
    return r && r->has_header(name) ? r->get_header_value(name) : std::string();
}

// Whole seconds, rounded up, as Retry-After tells `ms`.
std::string seconds_up(std::int64_t ms) {
    return std::to_string((ms + 999) / 1000);
}

class NamedLimitRefusal : public ::testing::Test {
  protected:
    void SetUp() override {
        pbd = std::make_unique<RunningDaemon>(dir, DaemonOptions{.env = only_own_limits()});
        admin = pbd->bootstrap_key();
        ASSERT_FALSE(admin.empty()) << pbd->err();
    }

    // A key with `limits` of its own (and `identity`, when not empty), made
    // with the real pbctl through pbd; its text.
    std::string key_with(const std::vector<std::string>& limits, const std::string& identity = "") {
        std::vector<std::string> argv{pbctl_path(), "--server", pbd->url(), "keys",     "create",
                                      "--owner",    "svc",      "--perm",   "keys:read"};
        for (const auto& l : limits) {
            argv.insert(argv.end(), {"--limit", l});
        }
        if (!identity.empty()) {
            argv.insert(argv.end(), {"--identity", identity});
        }
        argv.insert(argv.end(), {"-q"});
        const auto r = run(argv, {{"PB_API_KEY", admin}});
        EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
        auto text = r.out;
        while (!text.empty() && text.back() == '\n') {
            text.pop_back();
        }
        return text;
    }

    TempDir dir;
    std::unique_ptr<RunningDaemon> pbd;
    std::string admin;
};

// The gate: the key's second request of the hour is 429 naming "requests",
// with Retry-After equal to its retry time rounded up (~3600 s, at least 1),
// and the RateLimit fields of that limit; the first one announced it.
TEST_F(NamedLimitRefusal, GateAnswersRetryAfterAndRateLimitFields) {
    const auto key = key_with({"requests=1/hour:auto"});
    auto c = pbd->client();
    const auto first = c->Get("/v1/auth", bearer(key));
    ASSERT_EQ(status_of(first), 200) << first->body;
    EXPECT_EQ(header(first, "RateLimit-Policy"), R"("requests";q=1;w=3600)");
    EXPECT_TRUE(header(first, "RateLimit").starts_with(R"("requests";r=0;t=)"))
        << header(first, "RateLimit");
    EXPECT_FALSE(first->has_header("Retry-After"));

    const auto refused = c->Get("/v1/auth", bearer(key));
    ASSERT_EQ(status_of(refused), 429) << refused->body;
    const auto body = body_json(refused);
    EXPECT_EQ(body["code"], "rate_limited");
    EXPECT_EQ(body["limit"], "requests");
    EXPECT_EQ(body["violated-policies"], json::array({"requests"})) << body.dump();
    const auto retry_ms = body["retry_after_ms"].get<std::int64_t>();
    EXPECT_GT(retry_ms, 3'500'000);
    EXPECT_LE(retry_ms, 3'600'000);
    EXPECT_EQ(header(refused, "Retry-After"), seconds_up(retry_ms));
    EXPECT_EQ(header(refused, "RateLimit-Policy"), R"("requests";q=1;w=3600)");
    EXPECT_TRUE(header(refused, "RateLimit").starts_with(R"("requests";r=0;t=)"))
        << header(refused, "RateLimit");
}

// An op's route with the key, and its identity's named limit: the same 429
// answer with Retry-After; keys.verify of the key answers its verdict as
// before (200, valid false, the limit and its retry time in the body).
TEST_F(NamedLimitRefusal, RoutesAndIdentitiesAnswerRetryAfterVerifyKeepsItsVerdict) {
    auto c = pbd->client();
    const auto made =
        c->Post("/v1/identities", bearer(admin),
                R"({"id":"acme","limits":[{"name":"calls","rate":"2/hour","auto":true}]})",
                "application/json");
    ASSERT_EQ(status_of(made), 201) << made->body;
    const auto key = key_with({}, "acme");
    for (int i = 0; i < 2; ++i) {
        const auto ok = c->Get("/v1/keys", bearer(key));
        ASSERT_EQ(status_of(ok), 200) << i << ok->body;
        EXPECT_EQ(header(ok, "RateLimit-Policy"), R"("calls";q=2;w=3600)");
    }
    const auto refused = c->Get("/v1/keys", bearer(key));
    ASSERT_EQ(status_of(refused), 429) << refused->body;
    const auto body = body_json(refused);
    EXPECT_EQ(body["limit"], "calls") << body.dump();
    const auto retry_ms = body["retry_after_ms"].get<std::int64_t>();
    EXPECT_GE(retry_ms, 1);
    EXPECT_EQ(header(refused, "Retry-After"), seconds_up(retry_ms));
    EXPECT_FALSE(header(refused, "RateLimit").empty());

    const auto verdict = c->Post("/v1/keys/verify", json{{"key", key}}.dump(), "application/json");
    ASSERT_EQ(status_of(verdict), 200) << verdict->body;
    const auto v = body_json(verdict);
    EXPECT_EQ(v["valid"], false);
    EXPECT_EQ(v["reason"], "rate_limited");
    EXPECT_EQ(v["limit"], "calls");
    EXPECT_GE(v["retry_after_ms"].get<std::int64_t>(), 1);
}

// A WebSocket op with the key: refused as rate_limited naming the limit,
// with its retry time; the upgrade itself counts nothing.
TEST_F(NamedLimitRefusal, WebSocketOpIsRefusedWithItsRetryTime) {
    const auto key = key_with({"requests=1/hour:auto"});
    WsClient ws(pbd->port(), {{"Authorization", "Bearer " + key}});
    ASSERT_TRUE(ws.ok());
    const auto first = ws.call("keys.list");
    EXPECT_TRUE(first.contains("result")) << first.dump();
    const auto refused = ws.call("keys.list");
    ASSERT_EQ(refused["error"]["code"], "rate_limited") << refused.dump();
    EXPECT_EQ(refused["error"]["details"]["limit"], "requests");
    EXPECT_GE(refused["error"]["details"]["retry_after_ms"].get<std::int64_t>(), 1);
}

// A shadow limit over its rate lets the request through and is not
// announced: no Retry-After, no RateLimit field of its name.
TEST_F(NamedLimitRefusal, ShadowLimitIsNeverAnnounced) {
    const auto key = key_with({"requests=1/hour:auto:shadow"});
    auto c = pbd->client();
    for (int i = 0; i < 3; ++i) {
        const auto r = c->Get("/v1/auth", bearer(key));
        ASSERT_EQ(status_of(r), 200) << i << r->body;
        EXPECT_FALSE(r->has_header("Retry-After")) << i;
        EXPECT_EQ(header(r, "RateLimit-Policy").find("requests"), std::string::npos)
            << header(r, "RateLimit-Policy");
    }
}

// With Redis (two pbd on one PostgreSQL): the limit counted by one daemon
// refuses at the other's gate with the same Retry-After and RateLimit
// fields (its checks made ahead, without blocking, through Redis).
TEST(NamedLimitRefusalWithRedis, AnotherDaemonsGateAnswersRetryAfter) {
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
    const auto key =
        created_key(
            a, admin,
            {{"owner", "svc"},
             {"limits", {{{"name", "requests"}, {"rate", "1/hour"}, {"auto", true}}}}})["key"]
            .get<std::string>();
    const auto first = a.client()->Get("/v1/auth", bearer(key));
    ASSERT_EQ(status_of(first), 200) << first->body;
    EXPECT_EQ(header(first, "RateLimit-Policy"), R"("requests";q=1;w=3600)");
    const auto refused = b.client()->Get("/v1/auth", bearer(key));
    ASSERT_EQ(status_of(refused), 429) << refused->body;
    const auto retry_ms = body_json(refused)["retry_after_ms"].get<std::int64_t>();
    EXPECT_GT(retry_ms, 3'500'000);
    EXPECT_EQ(header(refused, "Retry-After"), seconds_up(retry_ms));
    EXPECT_EQ(header(refused, "RateLimit-Policy"), R"("requests";q=1;w=3600)");
    EXPECT_TRUE(header(refused, "RateLimit").starts_with(R"("requests";r=0;t=)"))
        << header(refused, "RateLimit");
}

}  // namespace
}  // namespace pb::test
