#include <gtest/gtest.h>

#include "tests/daemon/daemon_fixture.hpp"

namespace pb::test {
namespace {

using nlohmann::json;

class DaemonKeys : public ::testing::Test {
  protected:
    void SetUp() override {
        m_pbd = std::make_unique<RunningDaemon>(m_dir);
        m_admin = m_pbd->bootstrap_key();
        ASSERT_FALSE(m_admin.empty());
        m_client = m_pbd->client();
    }

    httplib::Result post(const std::string& path, const json& body) {
        return m_client->Post(path, bearer(m_admin), body.dump(), "application/json");
    }
    json verify(const std::string& key) {
        const auto res =
            m_client->Post("/v1/keys/verify", json{{"key", key}}.dump(), "application/json");
        EXPECT_EQ(status_of(res), 200);
        return body_json(res);
    }

    TempDir m_dir;
    std::unique_ptr<RunningDaemon> m_pbd;
    std::string m_admin;
    std::unique_ptr<httplib::Client> m_client;
};

// Pins: POST /v1/keys answers 201 with the key's secret text, and the new key
// verifies through POST /v1/keys/verify without any credential.
TEST_F(DaemonKeys, CreateThenVerify) {
    const auto res = post("/v1/keys", {{"owner", "deploy-bot"},
                                       {"name", "ci"},
                                       {"permissions", {"deploy:write"}},
                                       {"metadata", {{"team", "infra"}}}});
    ASSERT_EQ(status_of(res), 201) << res->body;
    const auto created = body_json(res);
    ASSERT_TRUE(created["key"].is_string());
    EXPECT_EQ(created["owner"], "deploy-bot");
    EXPECT_EQ(created["status"], "active");
    EXPECT_EQ(res->get_header_value("Cache-Control"), "no-store");

    const auto v = verify(created["key"]);
    EXPECT_EQ(v["valid"], true);
    EXPECT_EQ(v["id"], created["id"]);
    EXPECT_EQ(v["permissions"], json::array({"deploy:write"}));
    EXPECT_EQ(v["metadata"]["team"], "infra");

    EXPECT_EQ(verify("pb_nothing")["valid"], false);
}

// Pins: list (with a query filter), show, update (PATCH), rotate with a grace
// period (old and new secrets both valid), revoke and delete, each with its status.
TEST_F(DaemonKeys, FullLifecycleOverHttp) {
    const auto created = body_json(post("/v1/keys", {{"owner", "svc"}, {"name", "one"}}));
    const std::string id = created["id"];
    const std::string old_key = created["key"];
    post("/v1/keys", {{"owner", "other"}});

    const auto list = m_client->Get("/v1/keys?owner=svc", bearer(m_admin));
    ASSERT_EQ(status_of(list), 200);
    ASSERT_EQ(body_json(list)["keys"].size(), 1u);
    EXPECT_EQ(body_json(list)["keys"][0]["id"], id);

    const auto show = m_client->Get("/v1/keys/" + id, bearer(m_admin));
    ASSERT_EQ(status_of(show), 200);
    EXPECT_EQ(body_json(show)["name"], "one");
    EXPECT_FALSE(body_json(show).contains("key")) << "show must never return the secret";

    const auto patched = m_client->Patch("/v1/keys/" + id, bearer(m_admin),
                                         R"({"name":"renamed","permissions":["a:read","b:read"]})",
                                         "application/json");
    ASSERT_EQ(status_of(patched), 200) << patched->body;
    EXPECT_EQ(body_json(patched)["name"], "renamed");
    EXPECT_EQ(body_json(patched)["permissions"], json::array({"a:read", "b:read"}));

    const auto rotated = post("/v1/keys/" + id + "/rotate", {{"grace", "1h"}});
    ASSERT_EQ(status_of(rotated), 200) << rotated->body;
    const std::string new_key = body_json(rotated)["key"];
    EXPECT_NE(new_key, old_key);
    EXPECT_EQ(verify(new_key)["valid"], true);
    EXPECT_EQ(verify(old_key)["valid"], true) << "the old secret works during the grace";

    const auto revoked = post("/v1/keys/" + id + "/revoke", json::object());
    ASSERT_EQ(status_of(revoked), 200);
    EXPECT_EQ(body_json(revoked)["status"], "revoked");
    EXPECT_EQ(verify(new_key)["reason"], "revoked");
    EXPECT_EQ(verify(old_key)["valid"], false);

    // Updating a revoked key is a conflict.
    const auto conflict =
        m_client->Patch("/v1/keys/" + id, bearer(m_admin), R"({"name":"x"})", "application/json");
    EXPECT_EQ(status_of(conflict), 409);

    const auto deleted = m_client->Delete("/v1/keys/" + id, bearer(m_admin));
    ASSERT_EQ(status_of(deleted), 200);
    EXPECT_EQ(body_json(deleted)["deleted"], true);
    const auto gone = m_client->Get("/v1/keys/" + id, bearer(m_admin));
    EXPECT_EQ(status_of(gone), 404);
    EXPECT_EQ(body_json(gone)["code"], "not_found");
    EXPECT_EQ(status_of(m_client->Delete("/v1/keys/" + id, bearer(m_admin))), 404);
}

// Pins: the X-API-Key header is accepted like a bearer token, and a key's own
// permissions apply (keys:read may list but not create).
TEST_F(DaemonKeys, ApiKeyHeaderAndPermissions) {
    const std::string reader =
        body_json(post("/v1/keys", {{"owner", "r"}, {"permissions", {"keys:read"}}}))["key"];
    const httplib::Headers h{{"X-API-Key", reader}};
    EXPECT_EQ(status_of(m_client->Get("/v1/keys", h)), 200);
    const auto denied = m_client->Post("/v1/keys", h, R"({"owner":"x"})", "application/json");
    EXPECT_EQ(status_of(denied), 403);
    EXPECT_EQ(body_json(denied)["code"], "permission_denied");
}

// Pins: a key with limited uses is spent by authenticated calls and then refused.
TEST_F(DaemonKeys, KeyWithRemainingUsesRunsOut) {
    const std::string limited = body_json(post(
        "/v1/keys", {{"owner", "r"}, {"permissions", {"keys:read"}}, {"remaining", 2}}))["key"];
    EXPECT_EQ(status_of(m_client->Get("/v1/keys", bearer(limited))), 200);
    EXPECT_EQ(status_of(m_client->Get("/v1/keys", bearer(limited))), 200);
    const auto third = m_client->Get("/v1/keys", bearer(limited));
    EXPECT_EQ(status_of(third), 401);
    EXPECT_EQ(body_json(third)["reason"], "exhausted");
}

}  // namespace
}  // namespace pb::test
