// Overrides and shadow mode through a real pbd (HTTP, WebSocket, pbctl
// --server, and pbctl on the database while pbd runs), and where each mode
// counts: pbd in its memory, pbctl on the database in the database.
#include "tests/daemon/daemon_fixture.hpp"
#include "tests/support/ws_client.hpp"

namespace pb::test {
namespace {

using nlohmann::json;

class LimitOverrides : public ::testing::Test {
  protected:
    void SetUp() override {
        pbd = std::make_unique<RunningDaemon>(
            dir, DaemonOptions{.env = {{"PB_LIMITS_IP_RATE", "100/min"},
                                       {"PB_LIMITS_USER_RATE", "100/min"},
                                       {"PB_BANS_AUTO_THRESHOLD", "0"}}});
        admin = pbd->bootstrap_key();
        ASSERT_FALSE(admin.empty()) << pbd->err();
    }

    httplib::Result post(const std::string& path, const json& body) {
        return pbd->client()->Post(path, bearer(admin), body.dump(), "application/json");
    }
    json check(const std::string& id, const std::string& scope = "ip") {
        const auto res = post("/v1/limits/check", {{"id", id}, {"scope", scope}});
        EXPECT_EQ(status_of(res), 200) << (res ? res->body : "");
        return body_json(res);
    }

    // pbctl on pbd's database (no --server), or through pbd with `server`.
    RunResult pbctl(std::vector<std::string> args, bool server) {
        return pbctl_beside(*pbd, server, admin, std::move(args),
                            {{"PB_LIMITS_IP_RATE", "100/min"}});
    }

    TempDir dir;
    std::unique_ptr<RunningDaemon> pbd;
    std::string admin;
};

// Set over HTTP (201), applied by pbd's next check and named in its answer;
// listed and removed over HTTP; malformed ones are 400 and change nothing.
TEST_F(LimitOverrides, OverHttp) {
    const auto set =
        post("/v1/limits/overrides", {{"target", "ip:203.0.113.0/24"}, {"rate", "2/min"}});
    ASSERT_EQ(status_of(set), 201) << (set ? set->body : "");
    EXPECT_EQ(body_json(set)["policy"], "override:ip:203.0.113.0/24");
    EXPECT_EQ(check("203.0.113.9")["policy"]["name"], "override:ip:203.0.113.0/24");
    EXPECT_EQ(check("203.0.113.9")["remaining"], 0);
    const auto refused = check("203.0.113.9");
    EXPECT_EQ(refused["allowed"], false);
    EXPECT_EQ(refused["counted_in"], "memory");
    EXPECT_EQ(check("198.51.100.1")["policy"]["name"], "scope:ip");
    const auto status = body_json(pbd->client()->Get("/v1/limits/ip/203.0.113.9", bearer(admin)));
    EXPECT_EQ(status["policy"]["name"], "override:ip:203.0.113.0/24");

    for (const auto& bad : {json{{"target", "ip:203.0.113.0/33"}, {"rate", "1/s"}},
                            json{{"target", "user:"}, {"rate", "1/s"}},
                            json{{"target", "planet:earth"}, {"rate", "1/s"}},
                            json{{"target", "user:acme-*"}, {"rate", "fast"}}}) {
        const auto res = post("/v1/limits/overrides", bad);
        EXPECT_EQ(status_of(res), 400) << bad.dump() << (res ? res->body : "");
    }
    const auto list = body_json(pbd->client()->Get("/v1/limits/overrides", bearer(admin)));
    ASSERT_EQ(list["overrides"].size(), 1u) << list.dump();
    // The CIDR's slash travels percent-encoded.
    const auto removed =
        pbd->client()->Delete("/v1/limits/overrides/ip:203.0.113.0%2F24", bearer(admin));
    EXPECT_EQ(status_of(removed), 200) << (removed ? removed->body : "");
    EXPECT_EQ(check("203.0.113.9")["policy"]["name"], "scope:ip");
    EXPECT_EQ(
        status_of(pbd->client()->Delete("/v1/limits/overrides/ip:203.0.113.0%2F24", bearer(admin))),
        404);
    // Without limits:write: refused.
    const auto reader =
        created_key(*pbd, admin, {{"owner", "r"}, {"permissions", {"limits:read"}}});
    const auto denied =
        pbd->client()->Post("/v1/limits/overrides", bearer(reader["key"].get<std::string>()),
                            json{{"target", "user:x"}, {"rate", "1/s"}}.dump(), "application/json");
    EXPECT_EQ(status_of(denied), 403);
}

// An override set by pbctl on the database while pbd runs is applied by pbd
// (it follows the outbox); pbctl --server reads it back from pbd.
TEST_F(LimitOverrides, PbctlOnTheDatabaseReachesPbd) {
    EXPECT_EQ(check("acme-eu", "user")["policy"]["name"], "scope:user");
    const auto set = pbctl({"limits", "override", "set", "user:acme-*", "3/min"}, false);
    ASSERT_EQ(set.exit_code, 0) << set.err;
    EXPECT_EQ(check("acme-eu", "user")["limit"], 3);
    const auto listed = pbctl({"limits", "override", "list", "-o", "json"}, true);
    ASSERT_EQ(listed.exit_code, 0) << listed.err;
    EXPECT_EQ(json::parse(listed.out)["overrides"][0]["target"], "user:acme-*");
    const auto bad = pbctl({"limits", "override", "set", "ip:10.0.0.0/40", "1/s"}, true);
    EXPECT_EQ(bad.exit_code, 2) << bad.err;
    const auto removed = pbctl({"limits", "override", "remove", "user:acme-*"}, true);
    EXPECT_EQ(removed.exit_code, 0) << removed.err;
    EXPECT_EQ(check("acme-eu", "user")["limit"], 100);
}

// pbctl --server counts in pbd; pbctl on the database counts in the
// database: two counters, each consistent run after run.
TEST_F(LimitOverrides, WhereEachModeCounts) {
    ASSERT_EQ(pbctl({"limits", "override", "set", "ip:192.0.2.5", "2/min"}, false).exit_code, 0);
    for (int i = 0; i < 2; ++i) {
        EXPECT_EQ(pbctl({"limits", "check", "192.0.2.5"}, true).exit_code, 0);
    }
    const auto remote = pbctl({"limits", "check", "192.0.2.5", "-o", "json"}, true);
    EXPECT_EQ(remote.exit_code, 6) << remote.out << remote.err;
    EXPECT_EQ(json::parse(remote.out, nullptr, false).value("counted_in", ""), "memory");
    // The database's counter is another one, untouched so far.
    const auto local = pbctl({"limits", "check", "192.0.2.5", "-o", "json"}, false);
    EXPECT_EQ(local.exit_code, 0) << local.err;
    EXPECT_EQ(json::parse(local.out, nullptr, false).value("counted_in", ""), "database");
    EXPECT_EQ(pbctl({"limits", "check", "192.0.2.5"}, false).exit_code, 0);
    EXPECT_EQ(pbctl({"limits", "check", "192.0.2.5"}, false).exit_code, 6);
}

// A shadow override never refuses: HTTP and WebSocket answer shadow_limited,
// and /metrics counts pb_limit_shadow_denied_total by policy.
TEST_F(LimitOverrides, ShadowOverWebSocketAndMetrics) {
    WsClient ws(pbd->port(), {{"X-API-Key", admin}});
    const auto set = ws.call("limits.override.set",
                             {{"target", "user:trial-*"}, {"rate", "1/min"}, {"shadow", true}});
    ASSERT_EQ(set["ok"], true) << set.dump();
    EXPECT_EQ(set["result"]["shadow"], true);
    const auto first = ws.call("limits.check", {{"id", "trial-1"}, {"scope", "user"}});
    ASSERT_EQ(first["ok"], true) << first.dump();
    EXPECT_FALSE(first["result"].contains("shadow_limited"));
    for (int i = 0; i < 2; ++i) {
        const auto over = ws.call("limits.check", {{"id", "trial-1"}, {"scope", "user"}});
        ASSERT_EQ(over["ok"], true) << over.dump();
        EXPECT_EQ(over["result"]["allowed"], true);
        EXPECT_EQ(over["result"]["shadow_limited"], true);
        EXPECT_EQ(over["result"]["policy"]["name"], "override:user:trial-*");
    }
    const auto http = check("trial-1", "user");
    EXPECT_EQ(http["allowed"], true);
    EXPECT_EQ(http["shadow_limited"], true);
    const auto listed = ws.call("limits.override.list");
    EXPECT_EQ(listed["result"]["overrides"].size(), 1u);
    const auto bad = ws.call("limits.override.set", {{"target", "ip:1.2.3.4/99"}, {"rate", "1/s"}});
    EXPECT_EQ(bad["ok"], false);
    EXPECT_EQ(bad["error"]["code"], "invalid_argument") << bad.dump();

    const auto metrics = pbd->client()->Get("/metrics");
    ASSERT_TRUE(metrics);
    EXPECT_NE(
        metrics->body.find("pb_limit_shadow_denied_total{policy=\"override:user:trial-*\"} 3"),
        std::string::npos)
        << metrics->body;
    const auto removed = ws.call("limits.override.remove", {{"target", "user:trial-*"}});
    EXPECT_EQ(removed["ok"], true) << removed.dump();
}

// identity:ID: every key of the identity spends one counter, after a key's
// own limit and before key overrides and the scope (off here); the same on
// HTTP, WebSocket, pbctl --server and pbctl on the database (its own counter
// there, in the database, shared run after run).
TEST(IdentityOverride, EveryKeyOfTheIdentitySharesOneCounter) {
    TempDir dir;
    RunningDaemon pbd(dir, DaemonOptions{.env = only_own_limits()});
    const auto admin = pbd.bootstrap_key();
    ASSERT_FALSE(admin.empty()) << pbd.err();
    auto client = pbd.client();
    ASSERT_EQ(status_of(client->Post("/v1/identities", bearer(admin), R"({"id":"acme"})",
                                     "application/json")),
              201);
    const auto key_of = [&](const json& extra) {
        json body{{"owner", "svc"}, {"permissions", {"identities:read"}}};
        body.update(extra);
        return created_key(pbd, admin, body);
    };
    const auto k1 = key_of({{"identity", "acme"}});
    const auto k2 = key_of({{"identity", "acme"}});
    const auto own = key_of({{"identity", "acme"}, {"rate_limit", "10/min"}});
    const auto lone = key_of(json::object());
    const auto pbctl = [&](std::vector<std::string> args, bool server) {
        args.insert(args.end(), {"-o", "json"});
        return pbctl_beside(pbd, server, admin, std::move(args), {{"PB_LIMITS_KEY_RATE", "off"}});
    };
    // Set on the database while pbd runs: pbd follows it.
    ASSERT_EQ(pbctl({"limits", "override", "set", "identity:acme", "3/min"}, false).exit_code, 0);

    const auto get = [&](const json& key) {
        return client->Get("/v1/identities/acme", bearer(key["key"].get<std::string>()));
    };
    EXPECT_EQ(status_of(get(k1)), 200);
    EXPECT_EQ(status_of(get(k2)), 200);
    EXPECT_EQ(status_of(get(k1)), 200);
    const auto refused = get(k2);
    ASSERT_EQ(status_of(refused), 429) << refused->body;
    EXPECT_NE(refused->body.find("identity is over its rate limit"), std::string::npos)
        << refused->body;
    // A 429 names no key id or override target (SECURITY.md, Errors).
    EXPECT_EQ(refused->body.find("acme"), std::string::npos) << refused->body;
    EXPECT_FALSE(refused->get_header_value("Retry-After").empty());
    // A key with its own limit, and a key of no identity, are not in it.
    EXPECT_EQ(status_of(get(own)), 200);
    EXPECT_EQ(status_of(get(lone)), 200);

    // limits status of either key names the identity's policy and counter.
    WsClient ws(pbd.port(), {{"X-API-Key", admin}});
    const auto over_ws =
        ws.call("limits.status", {{"scope", "key"}, {"id", k1["id"].get<std::string>()}});
    EXPECT_EQ(over_ws["result"]["policy"]["name"], "override:identity:acme") << over_ws.dump();
    EXPECT_EQ(over_ws["result"]["remaining"], 0);
    const auto remote = pbctl({"limits", "status", k2["id"], "--scope", "key"}, true);
    ASSERT_EQ(remote.exit_code, 0) << remote.err;
    EXPECT_EQ(json::parse(remote.out)["policy"]["name"], "override:identity:acme");
    EXPECT_EQ(json::parse(remote.out)["remaining"], 0);
    const auto own_status = ws.call("limits.status", {{"scope", "key"}, {"id", own["id"]}});
    EXPECT_EQ(own_status["result"]["policy"]["name"], "key:" + own["id"].get<std::string>());

    // pbctl on the database: its own counter of the identity, run after run.
    for (const auto* key : {&k1, &k2, &k1}) {
        const auto r = pbctl({"limits", "check", (*key)["id"], "--scope", "key"}, false);
        EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    }
    const auto local = pbctl({"limits", "check", k2["id"], "--scope", "key"}, false);
    EXPECT_EQ(local.exit_code, 6) << local.out << local.err;
    EXPECT_EQ(json::parse(local.out)["policy"]["name"], "override:identity:acme");
    EXPECT_EQ(json::parse(local.out)["counted_in"], "database");

    // Reset through one key gives the identity its burst back.
    ASSERT_EQ(pbctl({"limits", "reset", k1["id"], "--scope", "key"}, true).exit_code, 0);
    EXPECT_EQ(status_of(get(k2)), 200);
}

// limits.ip.shadow: pbd's own gate lets an address over the limit through,
// counting it.
TEST(LimitShadowScope, TheGateNeverRefusesAShadowScope) {
    TempDir dir;
    RunningDaemon pbd(dir, DaemonOptions{.env = {{"PB_LIMITS_IP_RATE", "2/min"},
                                                 {"PB_LIMITS_IP_SHADOW", "true"},
                                                 {"PB_BANS_ALLOW", ""},
                                                 {"PB_BANS_AUTO_THRESHOLD", "1"}}});
    for (int i = 0; i < 5; ++i) {
        EXPECT_EQ(status_of(pbd.client()->Get("/v1/auth?anonymous=1")), 200);
    }
    const auto metrics = pbd.client()->Get("/metrics");
    ASSERT_TRUE(metrics);
    // Three /v1/auth over the limit, and /metrics' own request (the gate
    // admits it before it renders) when it is not exempt.
    const std::string sample = "pb_limit_shadow_denied_total{policy=\"scope:ip\"} ";
    const auto at = metrics->body.find(sample);
    ASSERT_NE(at, std::string::npos) << metrics->body;
    const auto n = std::stoll(metrics->body.substr(at + sample.size()));
    EXPECT_GE(n, 3);
    EXPECT_LE(n, 4);
}

}  // namespace
}  // namespace pb::test
