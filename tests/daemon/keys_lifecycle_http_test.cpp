// Disabled and imported keys through a real pbd: HTTP routes, keys.verify,
// the credential of a request and of a WebSocket session, pbctl --server,
// and changes made by pbctl on the database reaching pbd.
#include "common/core/crypto.hpp"
#include "tests/daemon/daemon_fixture.hpp"
#include "tests/support/ws_client.hpp"

namespace pb::test {
namespace {

using nlohmann::json;

const std::string k_legacy = "sk_live_4eC39HqLyjWDarjtT1zdp7dc";
const std::string k_dotted = "acme.prod.0aB1c2D3e4F5g6H7i8J9";  // JWT-shaped to a quick look

std::string hash_text(const std::string& text) {
    return "sha256:" + crypto::to_hex(crypto::sha256(text));
}

class KeysLifecycleHttp : public ::testing::Test {
  protected:
    void SetUp() override {
        pbd = std::make_unique<RunningDaemon>(
            dir,
            DaemonOptions{.env = {{"PB_LIMITS_KEY_RATE", "off"}, {"PB_LIMITS_IP_RATE", "off"}}});
        admin = pbd->bootstrap_key();
        ASSERT_FALSE(admin.empty()) << pbd->err();
    }

    httplib::Result post(const std::string& path, const json& body, const std::string& credential) {
        return pbd->client()->Post(path, bearer(credential), body.dump(), "application/json");
    }
    int get_keys(const httplib::Headers& headers) {
        return status_of(pbd->client()->Get("/v1/keys", headers));
    }
    json verify(const std::string& key) {
        return body_json(post("/v1/keys/verify", {{"key", key}}, admin));
    }
    // pbctl with `args`, on the database or (server) through pbd as admin.
    RunResult pbctl(std::vector<std::string> args, bool server, const std::string& input = "") {
        return pbctl_beside(*pbd, server, admin, std::move(args), {}, input);
    }

    TempDir dir;
    std::unique_ptr<RunningDaemon> pbd;
    std::string admin;
};

// POST /v1/keys/{id}/disable: the key is refused as a credential (401,
// reason disabled), keys.verify says disabled, /v1/auth refuses it; enable
// brings it back. Both answer the key row.
TEST_F(KeysLifecycleHttp, DisableAndEnableOverHttp) {
    const auto k = created_key(*pbd, admin, {{"owner", "svc"}, {"permissions", {"keys:read"}}});
    const std::string key = k["key"], id = k["id"];
    ASSERT_EQ(get_keys(bearer(key)), 200);
    const auto res = post("/v1/keys/" + id + "/disable", {{"reason", "audit"}}, admin);
    ASSERT_EQ(status_of(res), 200) << (res ? res->body : "");
    EXPECT_EQ(body_json(res)["status"], "disabled");
    EXPECT_EQ(body_json(res)["disabled_reason"], "audit");
    const auto refused = pbd->client()->Get("/v1/keys", bearer(key));
    EXPECT_EQ(status_of(refused), 401);
    EXPECT_NE(refused->body.find("disabled"), std::string::npos) << refused->body;
    EXPECT_EQ(get_keys({{"X-API-Key", key}}), 401);
    EXPECT_EQ(status_of(pbd->client()->Get("/v1/auth", bearer(key))), 401);
    EXPECT_EQ(verify(key), (json{{"valid", false}, {"reason", "disabled"}}));
    const auto enabled = post("/v1/keys/" + id + "/enable", json::object(), admin);
    ASSERT_EQ(status_of(enabled), 200);
    EXPECT_EQ(body_json(enabled)["status"], "active");
    EXPECT_EQ(get_keys(bearer(key)), 200);
    EXPECT_EQ(status_of(post("/v1/keys/nosuchkey123/disable", json::object(), admin)), 404);
}

// pbctl --server keys disable/enable; keys verify --server exits 3 "disabled".
TEST_F(KeysLifecycleHttp, PbctlServerDisables) {
    const auto k = created_key(*pbd, admin, {{"owner", "svc"}});
    const std::string key = k["key"], id = k["id"];
    const auto off = pbctl({"keys", "disable", id, "--reason", "x", "-o", "json"}, true);
    ASSERT_EQ(off.exit_code, 0) << off.err;
    EXPECT_EQ(json::parse(off.out)["status"], "disabled");
    const auto refused = pbctl({"keys", "verify", "-"}, true, key + "\n");
    EXPECT_EQ(refused.exit_code, 3) << refused.out << refused.err;
    EXPECT_NE(refused.err.find("disabled"), std::string::npos) << refused.err;
    ASSERT_EQ(pbctl({"keys", "enable", id}, true).exit_code, 0);
    EXPECT_EQ(pbctl({"keys", "verify", "-"}, true, key + "\n").exit_code, 0);
}

// A WebSocket session of a key disabled by pbctl on the database closes
// (1008, "disabled"); a new session cannot authenticate with it.
TEST_F(KeysLifecycleHttp, DisablingClosesTheKeysWebSocketSession) {
    const auto k = created_key(*pbd, admin, {{"owner", "svc"}, {"permissions", {"keys:read"}}});
    const std::string key = k["key"], id = k["id"];
    WsClient ws(pbd->port());
    ASSERT_EQ(ws.call("authenticate", {{"api_key", key}})["ok"], true);
    ASSERT_EQ(ws.call("keys.list")["ok"], true);
    ASSERT_EQ(pbctl({"keys", "disable", id}, false).exit_code, 0);
    const auto closed = ws.wait_closed(std::chrono::seconds(5));
    EXPECT_EQ(closed.kind, WsMessage::Kind::closed);
    EXPECT_EQ(closed.close_code, 1008);
    EXPECT_NE(closed.close_reason.find("disabled"), std::string::npos) << closed.close_reason;
    WsClient again(pbd->port());
    const auto auth = again.call("authenticate", {{"api_key", key}});
    EXPECT_EQ(auth["ok"], false) << auth.dump();
    EXPECT_EQ(auth["error"]["code"], "unauthenticated") << auth.dump();
}

// POST /v1/keys/import: the old system's text is then a credential on every
// door (Bearer, X-API-Key, a dotted one too, a WebSocket session) and
// verifies; the same hash again is 409; a bad hash 400; a document with a
// bad row imports nothing.
TEST_F(KeysLifecycleHttp, ImportedKeysAreCredentials) {
    const auto one = post(
        "/v1/keys/import",
        {{"hash", hash_text(k_legacy)}, {"owner", "acme"}, {"permissions", {"keys:read"}}}, admin);
    ASSERT_EQ(status_of(one), 200) << (one ? one->body : "");
    EXPECT_EQ(body_json(one)["imported"], 1);
    const std::string id = body_json(one)["keys"][0]["id"];
    EXPECT_EQ(get_keys(bearer(k_legacy)), 200);
    EXPECT_EQ(get_keys({{"X-API-Key", k_legacy}}), 200);
    EXPECT_EQ(verify(k_legacy)["id"], id);
    EXPECT_EQ(get_keys(bearer(k_legacy + "x")), 401);

    const auto doc = post("/v1/keys/import",
                          {{"document",
                            {{"keys",
                              {{{"hash", hash_text(k_dotted)},
                                {"owner", "acme"},
                                {"permissions", {"keys:read"}}}}}}}},
                          admin);
    ASSERT_EQ(status_of(doc), 200) << (doc ? doc->body : "");
    EXPECT_EQ(get_keys(bearer(k_dotted)), 200);

    WsClient ws(pbd->port());
    ASSERT_EQ(ws.call("authenticate", {{"api_key", k_legacy}})["ok"], true);
    EXPECT_EQ(ws.call("keys.list")["ok"], true);
    ASSERT_EQ(pbctl({"keys", "disable", id}, false).exit_code, 0);
    EXPECT_EQ(ws.wait_closed(std::chrono::seconds(5)).close_code, 1008);

    const auto dup =
        post("/v1/keys/import", {{"hash", hash_text(k_legacy)}, {"owner", "x"}}, admin);
    EXPECT_EQ(status_of(dup), 409) << (dup ? dup->body : "");
    const auto bad = post("/v1/keys/import", {{"hash", "md5:abcd"}, {"owner", "x"}}, admin);
    EXPECT_EQ(status_of(bad), 400);
    const auto bad_row = post("/v1/keys/import",
                              {{"document",
                                {{"keys",
                                  {{{"hash", hash_text("fresh-one")}, {"owner", "a"}},
                                   {{"hash", "sha256:12"}, {"owner", "a"}}}}}}},
                              admin);
    EXPECT_EQ(status_of(bad_row), 400);
    EXPECT_NE(bad_row->body.find("row 2"), std::string::npos) << bad_row->body;
    EXPECT_EQ(verify("fresh-one")["reason"], "unknown");
    const auto listed = body_json(pbd->client()->Get("/v1/keys", bearer(admin)));
    EXPECT_EQ(listed["keys"].size(), 3U);  // the admin's and the two imported
}

// Keys imported by pbctl on the database, after pbd has answered that no
// imported key exists, verify through pbd (it learns through the outbox);
// so does a key imported by pbctl --server.
TEST_F(KeysLifecycleHttp, PbdLearnsOfImportsMadeElsewhere) {
    EXPECT_EQ(verify(k_legacy)["reason"], "malformed");
    const auto local = pbctl(
        {"keys", "import", "--hash", hash_text(k_legacy), "--owner", "acme", "--perm", "keys:read"},
        false);
    ASSERT_EQ(local.exit_code, 0) << local.err;
    bool verified = false;
    for (int i = 0; i < 200 && !verified; ++i) {
        verified = verify(k_legacy)["valid"] == true;
        if (!verified) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }
    EXPECT_TRUE(verified);
    EXPECT_EQ(get_keys(bearer(k_legacy)), 200);
    const auto remote =
        pbctl({"keys", "import", "--hash", hash_text("second"), "--owner", "bob", "-q"}, true);
    ASSERT_EQ(remote.exit_code, 0) << remote.err;
    EXPECT_EQ(verify("second")["valid"], true);
    const auto local_verify = pbctl({"keys", "verify", "-", "-q"}, false, "second\n");
    EXPECT_EQ(local_verify.out, remote.out);
}

}  // namespace
}  // namespace pb::test
