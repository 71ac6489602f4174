// One admission for every surface: a banned key, or one over its own rate
// limit, is refused by keys.verify (pbctl on the database, pbctl --server,
// HTTP, WebSocket) and by GET /v1/auth, and none of them spends its uses.
#include "tests/daemon/daemon_fixture.hpp"
#include "tests/support/ws_client.hpp"

namespace pb::test {
namespace {

using nlohmann::json;

class KeyAdmission : public ::testing::Test {
  protected:
    void start(std::map<std::string, std::string> env) {
        env.emplace("PB_LIMITS_IP_RATE", "off");
        env.emplace("PB_BANS_AUTO_THRESHOLD", "0");
        pbd = std::make_unique<RunningDaemon>(dir, DaemonOptions{.env = env});
        admin = pbd->bootstrap_key();
        ASSERT_FALSE(admin.empty()) << pbd->err();
    }

    // A key made through pbd: {"key", "id", …}.
    json create(const json& body) { return created_key(*pbd, admin, body); }

    std::int64_t remaining(const std::string& id) {
        const auto shown = body_json(pbd->client()->Get("/v1/keys/" + id, bearer(admin)));
        return shown.value("remaining", std::int64_t{-1});
    }

    json http_verify(const std::string& key) {
        const auto res =
            pbd->client()->Post("/v1/keys/verify", json{{"key", key}}.dump(), "application/json");
        EXPECT_EQ(status_of(res), 200);
        return body_json(res);
    }

    // pbctl keys verify, on the database or (with `server`) through pbd; the
    // key goes on stdin. The exit code goes to `exit_code`.
    json pbctl_verify(const std::string& key, bool server, int& exit_code) {
        std::vector<std::string> argv{pbctl_path()};
        std::map<std::string, std::string> env{{"PB_DB", pbd->db()}, {"PB_LIMITS_IP_RATE", "off"}};
        if (server) {
            argv.insert(argv.end(), {"--server", pbd->url()});
            env = {{"PB_API_KEY", admin}};
        }
        argv.insert(argv.end(), {"keys", "verify", "-", "-o", "json"});
        const auto r = run(argv, env, key + "\n");
        exit_code = r.exit_code;
        return json::parse(r.out, nullptr, false);
    }

    TempDir dir;
    std::unique_ptr<RunningDaemon> pbd;
    std::string admin;
};

// A banned key is "banned" on every surface of keys.verify (HTTP 200, pbctl exit 3) and 403 at
// /v1/auth, and its remaining uses are untouched by all of them; a wrong secret for its id is
// still just "unknown" (a key that does not verify is not probed for bans). Unbanned, it spends.
TEST_F(KeyAdmission, ABannedKeyIsBannedEverywhereAndSpendsNothing) {
    start({{"PB_BANS_ALLOW", ""}});
    const auto created = create({{"owner", "svc"}, {"remaining", 5}});
    const std::string key = created["key"];
    const std::string id = created["id"];
    const auto ban =
        run({pbctl_path(), "bans", "add", "key:" + id, "--reason", "test"}, {{"PB_DB", pbd->db()}});
    ASSERT_EQ(ban.exit_code, 0) << ban.err;

    const json banned{{"valid", false}, {"reason", "banned"}};
    int code = 0;
    EXPECT_EQ(pbctl_verify(key, false, code), banned);
    EXPECT_EQ(code, 3);
    EXPECT_EQ(pbctl_verify(key, true, code), banned);
    EXPECT_EQ(code, 3);
    EXPECT_EQ(http_verify(key), banned);
    WsClient ws(pbd->port(), {{"Authorization", "Bearer " + admin}});
    const auto over_ws = ws.call("keys.verify", {{"key", key}});
    EXPECT_EQ(over_ws["result"], banned) << over_ws.dump();
    for (int i = 0; i < 2; ++i) {
        const auto gate = pbd->client()->Get("/v1/auth", bearer(key));
        EXPECT_EQ(status_of(gate), 403);
        EXPECT_EQ(body_json(gate)["code"], "banned");
    }
    EXPECT_EQ(remaining(id), 5);

    // The same id with a secret that no longer verifies (rotated away): unknown, not banned.
    const auto rotated = pbd->client()->Post("/v1/keys/" + id + "/rotate", bearer(admin),
                                             R"({"grace":0})", "application/json");
    ASSERT_EQ(status_of(rotated), 200) << (rotated ? rotated->body : "");
    EXPECT_EQ(http_verify(key)["reason"], "unknown");
    const std::string current = body_json(rotated)["key"];
    EXPECT_EQ(http_verify(current), banned);

    // A ban on the key's owner bans it too.
    const auto unban = run({pbctl_path(), "bans", "remove", "key:" + id}, {{"PB_DB", pbd->db()}});
    ASSERT_EQ(unban.exit_code, 0) << unban.err;
    const auto verified = http_verify(current);
    EXPECT_EQ(verified["valid"], true) << verified.dump();
    EXPECT_EQ(verified["remaining"], 4);
    const auto owner_ban = run({pbctl_path(), "bans", "add", "user:svc"}, {{"PB_DB", pbd->db()}});
    ASSERT_EQ(owner_ban.exit_code, 0) << owner_ban.err;
    EXPECT_EQ(http_verify(current), banned);
    EXPECT_EQ(remaining(id), 4);
}

// A key over its own rate limit is "rate_limited" with retry_after_ms on keys.verify, whoever
// asks (loopback is on bans.allow here: that exempts the caller, not the key it verifies), and
// 429 at /v1/auth; no refusal spends a use.
TEST_F(KeyAdmission, AKeyOverItsOwnLimitIsRateLimitedAndSpendsNothing) {
    // Loopback is allow-listed (the default) and a trusted proxy, so /v1/auth judges the
    // forwarded client.
    start({{"PB_TRUSTED_PROXIES", "127.0.0.0/8"}});
    const auto created = create({{"owner", "svc"}, {"remaining", 10}, {"rate_limit", "2/min"}});
    const std::string key = created["key"];
    const std::string id = created["id"];
    EXPECT_EQ(http_verify(key)["valid"], true);
    EXPECT_EQ(http_verify(key)["remaining"], 8);

    const auto limited = http_verify(key);
    EXPECT_EQ(limited["valid"], false) << limited.dump();
    EXPECT_EQ(limited["reason"], "rate_limited");
    EXPECT_GT(limited.value("retry_after_ms", 0), 0);
    int code = 0;
    const auto through_pbd = pbctl_verify(key, true, code);
    EXPECT_EQ(through_pbd["reason"], "rate_limited") << through_pbd.dump();
    EXPECT_EQ(code, 3);
    WsClient ws(pbd->port(), {{"Authorization", "Bearer " + admin}});
    const auto over_ws = ws.call("keys.verify", {{"key", key}});
    EXPECT_EQ(over_ws["result"]["reason"], "rate_limited") << over_ws.dump();
    const auto gate = pbd->client()->Get(
        "/v1/auth", {{"Authorization", "Bearer " + key}, {"X-Forwarded-For", "198.51.100.9"}});
    EXPECT_EQ(status_of(gate), 429);
    EXPECT_EQ(body_json(gate)["code"], "rate_limited");
    EXPECT_EQ(remaining(id), 8);
}

}  // namespace
}  // namespace pb::test
