#include "tests/daemon/daemon_fixture.hpp"

namespace pb::test {
namespace {

using nlohmann::json;

json post(httplib::Client& c, const std::string& path, const json& body,
          const std::string& key = "") {
    auto headers = key.empty() ? httplib::Headers{} : bearer(key);
    return body_json(c.Post(path.c_str(), headers, body.dump(), "application/json"));
}

// Tokens over HTTP: issue with an admin key, verify, refresh, and the JWKS document.
TEST(DaemonTokens, IssueVerifyRefreshOverHttp) {
    TempDir dir;
    RunningDaemon pbd(dir);
    auto c = pbd.client();
    const auto admin = pbd.bootstrap_key();
    const auto pair =
        post(*c, "/v1/tokens", {{"sub", "user-1"}, {"aud", {"api"}}, {"refresh", true}}, admin);
    ASSERT_TRUE(pair.contains("access_token")) << pair.dump();
    const auto access = pair["access_token"].get<std::string>();
    EXPECT_EQ(post(*c, "/v1/tokens/verify", {{"token", access}, {"aud", "api"}})["valid"], true);
    EXPECT_EQ(post(*c, "/v1/tokens/verify", {{"token", access}, {"aud", "web"}})["reason"],
              "wrong_audience");
    const auto next = post(*c, "/v1/tokens/refresh", {{"refresh_token", pair["refresh_token"]}});
    EXPECT_TRUE(next.contains("access_token")) << next.dump();
    const auto reuse =
        c->Post("/v1/tokens/refresh", json{{"refresh_token", pair["refresh_token"]}}.dump(),
                "application/json");
    EXPECT_EQ(status_of(reuse), 401);
    const auto jwks = body_json(c->Get("/.well-known/jwks.json"));
    ASSERT_EQ(jwks["keys"].size(), 1U);
    EXPECT_EQ(jwks["keys"][0]["alg"], "ES256");
    EXPECT_FALSE(jwks["keys"][0].contains("d"));
}

// A JWT pb issued is a caller credential, with its permissions claim; a token revoked by pbctl on
// the database is refused by the running daemon at once.
TEST(DaemonTokens, JwtAsCredentialAndRevokedByPbctl) {
    TempDir dir;
    RunningDaemon pbd(dir);
    auto c = pbd.client();
    const auto admin = pbd.bootstrap_key();
    const auto issued =
        post(*c, "/v1/tokens", {{"sub", "ops-bot"}, {"claims", {{"permissions", {"keys:read"}}}}},
             admin);
    const auto jwt = issued["access_token"].get<std::string>();
    EXPECT_EQ(status_of(c->Get("/v1/keys", bearer(jwt))), 200);
    EXPECT_EQ(status_of(c->Post("/v1/keys", bearer(jwt), R"({"owner":"x"})", "application/json")),
              403);
    const auto revoke = run({pbctl_path(), "tokens", "revoke", "-"}, {{"PB_DB", pbd.db()}}, jwt);
    ASSERT_EQ(revoke.exit_code, 0) << revoke.err;
    const auto after = c->Get("/v1/keys", bearer(jwt));
    EXPECT_EQ(status_of(after), 401);
    EXPECT_EQ(body_json(after)["reason"], "revoked");
}

}  // namespace
}  // namespace pb::test
