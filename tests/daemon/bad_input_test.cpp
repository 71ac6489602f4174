#include <gtest/gtest.h>

#include "tests/daemon/daemon_fixture.hpp"

namespace pb::test {
namespace {

using nlohmann::json;

class DaemonBadInput : public ::testing::Test {
  protected:
    void SetUp() override {
        m_pbd = std::make_unique<RunningDaemon>(
            m_dir, DaemonOptions{.env = {{"PB_MAX_BODY", "512"}, {"PB_MAX_HEADER", "2048"}}});
        m_admin = m_pbd->bootstrap_key();
        ASSERT_FALSE(m_admin.empty());
        m_client = m_pbd->client();
        m_reader = body_json(m_client->Post("/v1/keys", bearer(m_admin),
                                            R"({"owner":"r","permissions":["keys:read"]})",
                                            "application/json"))["key"];
        m_before = keys();
        ASSERT_EQ(m_before.size(), 2u);
    }

    // Every key as GET /v1/keys shows it, minus usage times (authenticated
    // calls move them).
    json keys() {
        auto list = body_json(m_client->Get("/v1/keys", bearer(m_admin)))["keys"];
        for (auto& k : list) {
            k.erase("last_used_at");
        }
        return list;
    }

    // Checks the status, the error code and that nothing changed.
    void expect_refused(const httplib::Result& res, int status, const std::string& code) {
        ASSERT_TRUE(res) << httplib::to_string(res.error());
        EXPECT_EQ(res->status, status) << res->body;
        EXPECT_EQ(body_json(res)["code"], code) << res->body;
        EXPECT_EQ(keys(), m_before);
    }

    TempDir m_dir;
    std::unique_ptr<RunningDaemon> m_pbd;
    std::string m_admin;
    std::string m_reader;
    std::unique_ptr<httplib::Client> m_client;
    json m_before;
};

// Pins: no credential is 401 unauthenticated with WWW-Authenticate: Bearer.
TEST_F(DaemonBadInput, MissingCredential) {
    const auto res = m_client->Post("/v1/keys", R"({"owner":"x"})", "application/json");
    expect_refused(res, 401, "unauthenticated");
    EXPECT_EQ(res->get_header_value("WWW-Authenticate"), "Bearer");
}

// Pins: a key that does not verify is 401 with the reason in details.
TEST_F(DaemonBadInput, WrongKey) {
    const auto res = m_client->Post("/v1/keys", bearer("pb_AAAAAAAAAAAA_wrong"), R"({"owner":"x"})",
                                    "application/json");
    expect_refused(res, 401, "unauthenticated");
    EXPECT_EQ(body_json(res)["reason"], "malformed");
}

// Pins: a key without the op's permission is 403 permission_denied.
TEST_F(DaemonBadInput, InsufficientPermission) {
    expect_refused(
        m_client->Post("/v1/keys", bearer(m_reader), R"({"owner":"x"})", "application/json"), 403,
        "permission_denied");
}

// Pins: an argument the op does not have is 400 invalid_argument.
TEST_F(DaemonBadInput, UnknownArgument) {
    expect_refused(m_client->Post("/v1/keys", bearer(m_admin), R"({"owner":"x","colour":"red"})",
                                  "application/json"),
                   400, "invalid_argument");
}

// Pins: a body that is not declared JSON is 415.
TEST_F(DaemonBadInput, WrongContentType) {
    expect_refused(m_client->Post("/v1/keys", bearer(m_admin), "owner=x", "text/plain"), 415,
                   "invalid_argument");
}

// Pins: a body over server.max_body (PB_MAX_BODY) is 413.
TEST_F(DaemonBadInput, BodyTooLarge) {
    const json big{{"owner", "x"}, {"name", std::string(1000, 'n')}};
    expect_refused(m_client->Post("/v1/keys", bearer(m_admin), big.dump(), "application/json"), 413,
                   "invalid_argument");
}

// Pins: a header block over server.max_header (PB_MAX_HEADER) is 431.
TEST_F(DaemonBadInput, HeaderTooLarge) {
    httplib::Headers h = bearer(m_admin);
    h.emplace("X-Padding", std::string(4000, 'p'));
    expect_refused(m_client->Get("/v1/keys", h), 431, "invalid_argument");
}

// Pins: malformed JSON and a body that is not an object are 400.
TEST_F(DaemonBadInput, MalformedJson) {
    expect_refused(m_client->Post("/v1/keys", bearer(m_admin), R"({"owner": )", "application/json"),
                   400, "invalid_argument");
    expect_refused(m_client->Post("/v1/keys", bearer(m_admin), R"(["owner"])", "application/json"),
                   400, "invalid_argument");
}

// Pins: an argument given both in the path and the body is 400.
TEST_F(DaemonBadInput, ArgumentGivenTwice) {
    const std::string id = m_before[1]["id"];
    expect_refused(m_client->Patch("/v1/keys/" + id, bearer(m_admin), R"({"id":"x","name":"y"})",
                                   "application/json"),
                   400, "invalid_argument");
}

// Pins: a broken %-escape in the query or in a path argument is 400.
TEST_F(DaemonBadInput, BrokenPercentEscape) {
    m_client->set_url_encode(false);
    const auto res = m_client->Get("/v1/keys?owner=%zz", bearer(m_admin));
    expect_refused(res, 400, "invalid_argument");
    EXPECT_NE(res->body.find("percent-encoding"), std::string::npos) << res->body;
    const std::string id = m_before[1]["id"];
    expect_refused(m_client->Get("/v1/keys/" + id + "%4", bearer(m_admin)), 400,
                   "invalid_argument");
}

// Pins: an unknown path is 404 not_found.
TEST_F(DaemonBadInput, UnknownRoute) {
    expect_refused(m_client->Get("/v1/nothing/here", bearer(m_admin)), 404, "not_found");
}

// Pins: a known path with the wrong method is 405 with an Allow header.
TEST_F(DaemonBadInput, WrongMethod) {
    const auto res = m_client->Put("/v1/keys", bearer(m_admin), "{}", "application/json");
    expect_refused(res, 405, "invalid_argument");
    EXPECT_EQ(res->get_header_value("Allow"), "GET, POST");
}

}  // namespace
}  // namespace pb::test
