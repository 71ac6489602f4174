#include "tests/daemon/daemon_fixture.hpp"

namespace pb::test {
namespace {

using nlohmann::json;

// Loopback is neither allow-listed nor a trusted proxy here, so pbd judges the test itself.
DaemonOptions strict(std::map<std::string, std::string> extra = {}) {
    DaemonOptions o;
    o.env = {
        {"PB_BANS_ALLOW", ""}, {"PB_LIMITS_IP_RATE", "3/min"}, {"PB_BANS_AUTO_THRESHOLD", "0"}};
    for (const auto& [k, v] : extra) {
        o.env[k] = v;
    }
    return o;
}

std::string header(const httplib::Result& r, const char* name) {
    return r && r->has_header(name) ? r->get_header_value(name) : std::string();
}

// pbd limits its own callers before any op runs: the 4th request in a minute is 429 with
// Retry-After and the RateLimit fields (draft-ietf-httpapi-ratelimit-headers-11).
TEST(DaemonGate, RateLimitsItsOwnCallers) {
    TempDir dir;
    RunningDaemon pbd(dir, strict());
    auto c = pbd.client();
    for (int i = 0; i < 3; ++i) {
        const auto r = c->Get("/health");
        ASSERT_EQ(status_of(r), 200) << i;
        EXPECT_EQ(header(r, "RateLimit-Policy"), R"("ip";q=3;w=60)");
        EXPECT_TRUE(
            header(r, "RateLimit").starts_with(R"("ip";r=)" + std::to_string(2 - i) + ";t="))
            << header(r, "RateLimit");
    }
    const auto limited = c->Get("/health");
    EXPECT_EQ(status_of(limited), 429);
    EXPECT_EQ(body_json(limited)["code"], "rate_limited");
    EXPECT_FALSE(header(limited, "Retry-After").empty());
    EXPECT_TRUE(header(limited, "RateLimit").starts_with(R"("ip";r=0;t=)"))
        << header(limited, "RateLimit");
    EXPECT_FALSE(limited->has_header("RateLimit-Remaining"));
}

// A ban added with pbctl on the database is enforced by the running daemon: 403 banned, before any
// op (loopback, banned here, keeps only /health: see operator_lockout_test.cpp).
TEST(DaemonGate, BanAddedByPbctlIsEnforced) {
    TempDir dir;
    RunningDaemon pbd(dir, strict({{"PB_LIMITS_IP_RATE", "off"}}));
    auto c = pbd.client();
    ASSERT_EQ(status_of(c->Get("/v1/keys")), 401);
    const auto add =
        run({pbctl_path(), "bans", "add", "127.0.0.0/8", "--reason", "test", "--force"},
            {{"PB_DB", pbd.db()}});
    ASSERT_EQ(add.exit_code, 0) << add.err;
    const auto banned = c->Get("/v1/keys");
    EXPECT_EQ(status_of(banned), 403);
    EXPECT_EQ(body_json(banned)["code"], "banned");
}

// GET /v1/auth: 401 without a credential, 200 with identity headers for a good key, 403 for a
// missing permission, 200 anonymous when asked.
TEST(DaemonGate, AuthGateForReverseProxies) {
    TempDir dir;
    RunningDaemon pbd(dir, strict({{"PB_LIMITS_IP_RATE", "off"}}));
    auto c = pbd.client();
    const auto admin = pbd.bootstrap_key();
    const auto created = body_json(c->Post("/v1/keys", bearer(admin),
                                           R"({"owner":"svc-a","permissions":["deploy:write"]})",
                                           "application/json"));
    const auto key = created["key"].get<std::string>();
    EXPECT_EQ(status_of(c->Get("/v1/auth")), 401);
    const auto ok = c->Get("/v1/auth", bearer(key));
    ASSERT_EQ(status_of(ok), 200);
    EXPECT_EQ(header(ok, "X-PB-Owner"), "svc-a");
    EXPECT_EQ(header(ok, "X-PB-Key-Id"), created["id"]);
    EXPECT_EQ(header(ok, "X-PB-Permissions"), "deploy:write");
    EXPECT_EQ(status_of(c->Get("/v1/auth?permission=deploy:write", bearer(key))), 200);
    EXPECT_EQ(status_of(c->Get("/v1/auth?permission=admin", bearer(key))), 403);
    EXPECT_EQ(status_of(c->Get("/v1/auth", bearer(key + "x"))), 401);
    EXPECT_EQ(status_of(c->Get("/v1/auth?anonymous=1")), 200);
    // A banned key is refused by the gate even though it verifies.
    const auto ban = run({pbctl_path(), "bans", "add", "key:" + created["id"].get<std::string>()},
                         {{"PB_DB", pbd.db()}});
    ASSERT_EQ(ban.exit_code, 0) << ban.err;
    EXPECT_EQ(status_of(c->Get("/v1/auth", bearer(key))), 403);
}

// Behind a trusted proxy the client is the nearest untrusted X-Forwarded-For hop: a banned client
// is refused, another passes.
TEST(DaemonGate, TrustedProxyForwardedClient) {
    TempDir dir;
    RunningDaemon pbd(
        dir, strict({{"PB_LIMITS_IP_RATE", "off"}, {"PB_TRUSTED_PROXIES", "127.0.0.0/8"}}));
    auto c = pbd.client();
    const auto ban = run({pbctl_path(), "bans", "add", "203.0.113.7"}, {{"PB_DB", pbd.db()}});
    ASSERT_EQ(ban.exit_code, 0) << ban.err;
    const auto refused = c->Get("/v1/auth?anonymous=1", {{"X-Forwarded-For", "203.0.113.7"}});
    EXPECT_EQ(status_of(refused), 403);
    // The client cannot hide behind a made-up hop further left.
    EXPECT_EQ(status_of(c->Get("/v1/auth?anonymous=1",
                               {{"X-Forwarded-For", "198.51.100.1, 203.0.113.7"}})),
              403);
    const auto passed = c->Get("/v1/auth?anonymous=1", {{"X-Forwarded-For", "198.51.100.4"}});
    EXPECT_EQ(status_of(passed), 200);
    EXPECT_EQ(header(passed, "X-PB-Client-IP"), "198.51.100.4");
}

}  // namespace
}  // namespace pb::test

namespace pb::test {
namespace {

// A key's own rate limit (keys update --rate-limit) is what pbd applies to that key, in place of
// limits.key.rate.
TEST(DaemonGate, PerKeyRateLimitOverridesTheDefault) {
    TempDir dir;
    RunningDaemon pbd(dir, strict({{"PB_LIMITS_IP_RATE", "off"}}));
    auto c = pbd.client();
    const auto admin = pbd.bootstrap_key();
    const auto created =
        body_json(c->Post("/v1/keys", bearer(admin),
                          R"({"owner":"svc-b","permissions":["keys:read"]})", "application/json"));
    const auto id = created["id"].get<std::string>();
    const auto update =
        run({pbctl_path(), "keys", "update", id, "--rate-limit", "2/min"}, {{"PB_DB", pbd.db()}});
    ASSERT_EQ(update.exit_code, 0) << update.err;
    const auto key = created["key"].get<std::string>();
    EXPECT_EQ(status_of(c->Get("/v1/keys", bearer(key))), 200);
    const auto second = c->Get("/v1/keys", bearer(key));
    EXPECT_EQ(status_of(second), 200);
    EXPECT_EQ(header(second, "RateLimit-Policy"), R"("key";q=2;w=60)");
    EXPECT_EQ(status_of(c->Get("/v1/keys", bearer(key))), 429);
    // Other keys keep the default.
    EXPECT_EQ(status_of(c->Get("/v1/keys", bearer(admin))), 200);
}

}  // namespace
}  // namespace pb::test
