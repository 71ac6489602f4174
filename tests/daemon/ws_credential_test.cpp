// A WebSocket session is held to the rules of each HTTP request: its
// credential is verified again for every op, and when it is withdrawn
// (revoked, deleted, expired, permissions changed, last use spent; a JWT
// revoked or expired) pbd closes the session (1008) as soon as it learns of
// it through the outbox, whoever made the change (pbd or pbctl on the
// database).
#include "tests/daemon/daemon_fixture.hpp"
#include "tests/support/ws_client.hpp"

namespace pb::test {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

// Generous: the close is expected within a second of the change.
constexpr milliseconds k_bound{5000};

class WsCredential : public ::testing::Test {
  protected:
    void SetUp() override {
        pbd = std::make_unique<RunningDaemon>(
            dir, DaemonOptions{.env = {{"PB_JWT_LEEWAY", "0s"}, {"PB_LIMITS_KEY_RATE", "off"}}});
        admin = pbd->bootstrap_key();
        ASSERT_FALSE(admin.empty()) << pbd->err();
    }

    json create(const json& body) { return created_key(*pbd, admin, body); }

    // A session authenticated with `credential` (an API key or a JWT) by the
    // authenticate message; keys.list answers on it.
    std::unique_ptr<WsClient> session(const std::string& credential, const char* arg = "api_key") {
        auto ws = std::make_unique<WsClient>(pbd->port());
        const auto auth = ws->call("authenticate", {{arg, credential}});
        EXPECT_EQ(auth["ok"], true) << auth.dump();
        const auto listed = ws->call("keys.list");
        EXPECT_EQ(listed["ok"], true) << listed.dump();
        return ws;
    }

    // The session closes by itself (no op sent) with 1008 and a reason
    // naming `why`.
    void expect_closed(WsClient& ws, const std::string& why) {
        const auto closed = ws.wait_closed(k_bound);
        EXPECT_EQ(closed.kind, WsMessage::Kind::closed) << "the session was not closed";
        EXPECT_EQ(closed.close_code, 1008);
        EXPECT_NE(closed.close_reason.find(why), std::string::npos) << closed.close_reason;
    }

    void pbctl(const std::vector<std::string>& args, const std::string& stdin_text = "") {
        std::vector<std::string> argv{pbctl_path()};
        argv.insert(argv.end(), args.begin(), args.end());
        const auto r = run(argv, {{"PB_DB", pbd->db()}}, stdin_text);
        ASSERT_EQ(r.exit_code, 0) << r.err;
    }

    TempDir dir;
    std::unique_ptr<RunningDaemon> pbd;
    std::string admin;
};

// Revoked by pbctl on the database: the session closes (1008, "revoked").
TEST_F(WsCredential, AKeyRevokedByPbctlClosesTheSession) {
    const auto k = create({{"owner", "svc"}, {"permissions", {"keys:read"}}});
    auto ws = session(k["key"]);
    pbctl({"keys", "revoke", k["id"]});
    expect_closed(*ws, "revoked");
}

// A ban on the session's key (pbctl on the database) closes it too, and a socket cannot open with
// the banned key on its upgrade.
TEST_F(WsCredential, ABanOnTheKeyClosesTheSession) {
    const auto k = create({{"owner", "svc"}, {"permissions", {"keys:read"}}});
    const std::string key = k["key"];
    auto ws = session(key);
    pbctl({"bans", "add", "key:" + k["id"].get<std::string>()});
    expect_closed(*ws, "banned");
    const auto [status, body] = WsClient::try_upgrade(pbd->port(), {{"X-API-Key", key}});
    EXPECT_EQ(status, 403) << body;
}

// Deleted through pbd: the session closes (the key is unknown now).
TEST_F(WsCredential, AKeyDeletedClosesTheSession) {
    const auto k = create({{"owner", "svc"}, {"permissions", {"keys:read"}}});
    auto ws = session(k["key"]);
    const std::string id = k["id"];
    ASSERT_EQ(status_of(pbd->client()->Delete("/v1/keys/" + id, bearer(admin))), 200);
    expect_closed(*ws, "unknown");
}

// An expiring key: usable until it expires, then the session closes without any event.
TEST_F(WsCredential, AKeyThatExpiresClosesTheSession) {
    const auto k = create({{"owner", "svc"}, {"permissions", {"keys:read"}}, {"expires", "2s"}});
    auto ws = session(k["key"]);
    expect_closed(*ws, "expired");
}

// An admin key downgraded to read by pbctl: the session ends (it can no longer create an admin
// key on it), while a change that leaves the permissions alone (a new name) does not end it.
TEST_F(WsCredential, PermissionsChangedClosesTheSession) {
    const auto k = create({{"owner", "ops"}, {"permissions", {"admin"}}});
    const std::string id = k["id"];
    auto ws = session(k["key"]);
    ASSERT_EQ(ws->call("subscribe", {{"topics", {"keys/" + id}}})["ok"], true);
    pbctl({"keys", "update", id, "--name", "renamed"});
    // The session sees the change (so pbd re-checked it) and goes on.
    json event = ws->next_event(k_bound);
    while (event.is_object() && event.value("event", "") != "key.updated") {
        event = ws->next_event(k_bound);  // the key's creation may come first
    }
    ASSERT_TRUE(event.is_object()) << "no key.updated event";
    EXPECT_EQ(ws->call("keys.list")["ok"], true);
    pbctl({"keys", "update", id, "--perm", "read"});
    expect_closed(*ws, "permissions");
    // A new session with the downgraded key cannot make an admin key.
    WsClient again(pbd->port());
    ASSERT_EQ(again.call("authenticate", {{"api_key", k["key"]}})["ok"], true);
    const auto made = again.call("keys.create", {{"owner", "x"}, {"permissions", {"admin"}}});
    EXPECT_EQ(made["error"]["code"], "permission_denied") << made.dump();
}

// Every op spends a use, as a request would: a key with 2 uses runs 2 ops (authenticating spends
// none), then the session closes; a key with remaining 1 runs exactly one.
TEST_F(WsCredential, EveryOpSpendsAUseAndTheLastOneClosesTheSession) {
    const auto k = create({{"owner", "ci"}, {"permissions", {"keys:read"}}, {"remaining", 2}});
    auto ws = session(k["key"]);  // authenticate + keys.list: one use
    const auto last = ws->call("keys.list");
    EXPECT_EQ(last["ok"], true) << last.dump();
    expect_closed(*ws, "exhausted");
    const std::string id = k["id"];
    const auto shown = body_json(pbd->client()->Get("/v1/keys/" + id, bearer(admin)));
    EXPECT_EQ(shown["remaining"], 0);

    const auto one = create({{"owner", "ci"}, {"permissions", {"keys:read"}}, {"remaining", 1}});
    WsClient single(pbd->port());
    ASSERT_EQ(single.call("authenticate", {{"api_key", one["key"]}})["ok"], true);
    int ran = 0;
    for (int i = 0; i < 20; ++i) {
        const auto answer = single.call("keys.list", json::object(), milliseconds(2000));
        if (answer.is_null()) {
            break;  // closed
        }
        ran += answer["ok"] == true ? 1 : 0;
    }
    EXPECT_EQ(ran, 1);
}

// A JWT session: revoked by pbctl on the database, it closes; an expiring token's session closes
// at its exp (leeway 0 here), unless token_refresh moved it on.
TEST_F(WsCredential, AJwtRevokedOrExpiredClosesTheSession) {
    WsClient admin_ws(pbd->port(), {{"Authorization", "Bearer " + admin}});
    const auto issue = [&](const json& extra) {
        json args{{"sub", "user-9"}, {"claims", {{"permissions", {"keys:read"}}}}};
        args.update(extra);
        const auto issued = admin_ws.call("tokens.issue", args);
        EXPECT_EQ(issued["ok"], true) << issued.dump();
        return issued["result"];
    };
    const std::string token = issue(json::object())["access_token"];
    auto revoked = session(token, "token");
    pbctl({"tokens", "revoke", "-"}, token + "\n");
    expect_closed(*revoked, "revoked");

    auto expiring = session(issue({{"ttl", "2s"}})["access_token"], "token");
    expect_closed(*expiring, "expired");

    // token_refresh extends a session: it moves to the new access token (which
    // lasts the grant's ttl again), so it outlives the first token's exp.
    const auto pair = issue({{"ttl", "5s"}, {"refresh", true}});
    auto refreshed = session(pair["access_token"], "token");
    std::this_thread::sleep_for(milliseconds(2500));
    const auto r = refreshed->call("token_refresh", {{"refresh_token", pair["refresh_token"]}});
    ASSERT_EQ(r["ok"], true) << r.dump();
    std::this_thread::sleep_for(milliseconds(3000));  // past the first token's exp
    EXPECT_EQ(refreshed->call("keys.list")["ok"], true);
}

}  // namespace
}  // namespace pb::test
