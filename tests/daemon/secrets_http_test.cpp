#include <gtest/gtest.h>

#include "tests/daemon/daemon_fixture.hpp"

namespace pb::test {
namespace {

using nlohmann::json;

constexpr const char* k_password = "pw-b81d-over-http-never-logged";

// pbd serving /v1/secrets…, with a reader key and a writer key besides the admin's.
class DaemonSecrets : public ::testing::Test {
  protected:
    void SetUp() override {
        m_pbd = std::make_unique<RunningDaemon>(m_dir);
        m_admin = m_pbd->bootstrap_key();
        ASSERT_FALSE(m_admin.empty());
        m_client = m_pbd->client();
        m_reader = key({"secrets:read"});
        m_writer = key({"secrets:write", "secrets:read"});
    }

    std::string key(const std::vector<std::string>& perms) {
        const auto res = m_client->Post("/v1/keys", bearer(m_admin),
                                        json{{"owner", "svc"}, {"permissions", perms}}.dump(),
                                        "application/json");
        EXPECT_EQ(status_of(res), 201);
        return body_json(res).value("key", "");
    }

    httplib::Result put(const std::string& key, const std::string& path, const json& body) {
        return m_client->Put(path, bearer(key), body.dump(), "application/json");
    }

    TempDir m_dir;
    std::unique_ptr<RunningDaemon> m_pbd;
    std::string m_admin, m_reader, m_writer;
    std::unique_ptr<httplib::Client> m_client;
};

// Pins: PUT/GET/PATCH/DELETE on /v1/secrets/{path...} with slashes in the path,
// list, metadata, undelete and destroy routes, each with its status.
TEST_F(DaemonSecrets, LifecycleOverHttp) {
    auto res = put(m_writer, "/v1/secrets/app/db/primary",
                   {{"data", {{"username", "svc"}, {"password", k_password}}}, {"cas", 0}});
    ASSERT_EQ(status_of(res), 200) << res->body;
    EXPECT_EQ(body_json(res)["version"], 1);

    res = m_client->Get("/v1/secrets/app/db/primary", bearer(m_reader));
    ASSERT_EQ(status_of(res), 200);
    auto j = body_json(res);
    EXPECT_EQ(j["data"]["password"], k_password);
    EXPECT_EQ(j["path"], "app/db/primary");

    res = m_client->Get("/v1/secrets/app/db/primary?field=username", bearer(m_reader));
    EXPECT_EQ(body_json(res)["value"], "svc");

    res = m_client->Patch("/v1/secrets/app/db/primary", bearer(m_writer),
                          json{{"data", {{"username", nullptr}, {"port", "5432"}}}}.dump(),
                          "application/json");
    ASSERT_EQ(status_of(res), 200) << res->body;
    EXPECT_EQ(body_json(res)["version"], 2);
    j = body_json(m_client->Get("/v1/secrets/app/db/primary", bearer(m_reader)));
    EXPECT_EQ(j["data"], (json{{"password", k_password}, {"port", "5432"}}));

    res = put(m_writer, "/v1/secrets/app/db/primary", {{"data", {{"p", "x"}}}, {"cas", 1}});
    EXPECT_EQ(status_of(res), 409);
    EXPECT_EQ(body_json(res)["code"], "conflict");

    j = body_json(m_client->Get("/v1/secrets?prefix=app/", bearer(m_reader)));
    EXPECT_EQ(j["keys"], json::array({{{"key", "db/"}, {"kind", "folder"}}}));

    res = m_client->Delete("/v1/secrets/app/db/primary?versions=2", bearer(m_writer));
    EXPECT_EQ(status_of(res), 200) << res->body;
    EXPECT_EQ(status_of(m_client->Get("/v1/secrets/app/db/primary", bearer(m_reader))), 404);
    res = m_client->Post("/v1/secrets-undelete/app/db/primary", bearer(m_writer),
                         R"({"versions":["2"]})", "application/json");
    EXPECT_EQ(status_of(res), 200) << res->body;
    res = m_client->Post("/v1/secrets-destroy/app/db/primary", bearer(m_writer),
                         R"({"versions":["1"]})", "application/json");
    EXPECT_EQ(status_of(res), 200) << res->body;
    j = body_json(m_client->Get("/v1/secrets-metadata/app/db/primary", bearer(m_reader)));
    EXPECT_EQ(j["current_version"], 2);
    EXPECT_EQ(j["versions"][0]["destroyed"], true);
    EXPECT_EQ(body_json(m_client->Get("/v1/secrets-status", bearer(m_reader)))["backend"], "local");

    // The value appears in neither pbd's log nor its audit output.
    EXPECT_EQ(m_pbd->err().find(k_password), std::string::npos);
    EXPECT_EQ(m_pbd->out().find(k_password), std::string::npos);
}

// Pins: reading needs secrets:read, writing secrets:write, and no key is 401.
TEST_F(DaemonSecrets, Permissions) {
    const auto other = key({"keys:read"});
    ASSERT_EQ(status_of(put(m_writer, "/v1/secrets/app/db", {{"data", {{"p", "v"}}}})), 200);
    EXPECT_EQ(status_of(m_client->Get("/v1/secrets/app/db")), 401);
    EXPECT_EQ(status_of(m_client->Get("/v1/secrets/app/db", bearer(other))), 403);
    EXPECT_EQ(status_of(put(m_reader, "/v1/secrets/app/db", {{"data", {{"p", "w"}}}})), 403);
    EXPECT_EQ(status_of(m_client->Delete("/v1/secrets/app/db", bearer(m_reader))), 403);
    EXPECT_EQ(status_of(m_client->Get("/v1/secrets-metadata/app/db", bearer(other))), 403);
    EXPECT_EQ(body_json(m_client->Get("/v1/secrets/app/db?field=p", bearer(m_reader)))["value"],
              "v");
}

// Pins: bad input is a 400 that echoes no value; a non-string value is refused.
TEST_F(DaemonSecrets, BadInput) {
    auto res = put(m_writer, "/v1/secrets/app/db", {{"data", {{"p", 42}}}});
    EXPECT_EQ(status_of(res), 400);
    res = put(m_writer, "/v1/secrets/app/db", {{"data", json::object()}});
    EXPECT_EQ(status_of(res), 400);
    res = put(m_writer, "/v1/secrets/app/%2E%2E/db", {{"data", {{"p", k_password}}}});
    EXPECT_EQ(status_of(res), 400);
    EXPECT_EQ(res->body.find(k_password), std::string::npos);
    EXPECT_EQ(status_of(m_client->Get("/v1/secrets/app/none", bearer(m_reader))), 404);
}

// Pins: pbctl --server sends a path with slashes through the {path...} route.
TEST_F(DaemonSecrets, PbctlRemote) {
    const std::map<std::string, std::string> env{{"PB_SERVER", m_pbd->url()},
                                                 {"PB_API_KEY", m_writer},
                                                 {"PB_CONFIG", "/dev/null"},
                                                 {"HOME", m_dir.path().string()}};
    auto r = run({pbctl_path(), "vault", "put", "team/app/db", "password=-", "-q"}, env,
                 std::string(k_password) + "\n");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "1\n");
    r = run({pbctl_path(), "vault", "get", "team/app/db", "--field", "password", "-q"}, env);
    EXPECT_EQ(r.out, std::string(k_password) + "\n") << r.err;
    r = run({pbctl_path(), "vault", "list", "team/", "-o", "json"}, env);
    EXPECT_NE(r.out.find("app/"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace pb::test
