// Hostile JSON at pbd's doors. One unauthenticated POST /v1/keys/verify of
// {"key": and 140,000 '[' ended pbd with SIGSEGV (copies and destructors of a
// deep tree recurse once per level). Every door now refuses such input with a
// 400 (or a WebSocket error frame) naming the limit, and pbd keeps serving.
#include <regex>

#include "common/runtime/op_table.hpp"
#include "tests/daemon/daemon_fixture.hpp"
#include "tests/support/ws_client.hpp"

namespace pb::test {
namespace {

using nlohmann::json;

const char* const k_too_deep = "request body: JSON nested deeper than 64 levels";

std::string deep_key_body(std::size_t levels) {
    return R"({"key":)" + std::string(levels, '[') + std::string(levels, ']') + "}";
}

class DaemonStrictJson : public ::testing::Test {
  protected:
    void SetUp() override {
        // Bodies and messages of 1,000,000 levels (2 MB) reach the parser.
        m_pbd = std::make_unique<RunningDaemon>(
            m_dir,
            DaemonOptions{.env = {{"PB_MAX_BODY", "8388608"}, {"PB_WS_MAX_MESSAGE", "8388608"}}});
        m_admin = m_pbd->bootstrap_key();
        ASSERT_FALSE(m_admin.empty());
        m_client = m_pbd->client();
        m_client->set_read_timeout(30, 0);
    }

    httplib::Result send(const std::string& method, const std::string& path,
                         const std::string& body, bool with_key) {
        httplib::Request req;
        req.method = method;
        req.path = path;
        req.body = body;
        req.set_header("Content-Type", "application/json");
        if (with_key) {
            req.set_header("Authorization", "Bearer " + m_admin);
        }
        return m_client->send(req);
    }

    // 400 invalid_argument with `message`, no library text, and pbd still up.
    void expect_refused(const httplib::Result& res, const std::string& message,
                        const std::string& where) {
        ASSERT_TRUE(res) << where << ": " << httplib::to_string(res.error());
        EXPECT_EQ(res->status, 400) << where << ": " << res->body.substr(0, 300);
        const auto error = body_json(res);
        EXPECT_EQ(error["code"], "invalid_argument") << where;
        EXPECT_NE(error["detail"].get<std::string>().find(message), std::string::npos)
            << where << ": " << error["detail"];
        EXPECT_EQ(res->body.find("json.exception"), std::string::npos) << where;
        EXPECT_EQ(status_of(m_client->Get("/health")), 200) << "after " << where;
    }

    std::size_t key_count() {
        return body_json(m_client->Get("/v1/keys", bearer(m_admin)))["keys"].size();
    }

    TempDir m_dir;
    std::unique_ptr<RunningDaemon> m_pbd;
    std::string m_admin;
    std::unique_ptr<httplib::Client> m_client;
};

// The four routes of the report, without a credential, and deeper still.
TEST_F(DaemonStrictJson, TheUnauthenticatedRoutesRefuseDeepBodies) {
    for (const char* path :
         {"/v1/keys/verify", "/v1/tokens/verify", "/v1/tokens/inspect", "/v1/tokens/refresh"}) {
        for (const std::size_t levels : {std::size_t{140'000}, std::size_t{1'000'000}}) {
            expect_refused(send("POST", path, deep_key_body(levels), false), k_too_deep,
                           std::string(path) + " at " + std::to_string(levels));
        }
        // Unbalanced: only openings.
        expect_refused(send("POST", path, R"({"key":)" + std::string(1'000'000, '['), false),
                       k_too_deep, path);
    }
}

// Every route of the op table, each method, each with a deep body.
TEST_F(DaemonStrictJson, EveryRouteRefusesDeepBodies) {
    const std::regex placeholder(R"(\{[a-z_]+(\.\.\.)?\})");
    const auto body = deep_key_body(140'000);
    std::size_t routes = 0;
    for (const auto& op : runtime::op_table().all()) {
        if (op.route.method.empty()) {
            continue;
        }
        const auto path = std::regex_replace(op.route.path, placeholder, "x");
        expect_refused(send(op.route.method, path, body, true), k_too_deep,
                       op.route.method + " " + path);
        ++routes;
    }
    EXPECT_GT(routes, 40U);
}

// {"permissions":["read"],"permissions":["admin"]} made an admin key (the last one won).
TEST_F(DaemonStrictJson, DuplicateMembersAndTrailingBytesCreateNothing) {
    const auto before = key_count();
    expect_refused(
        send("POST", "/v1/keys",
             R"({"owner":"x","permissions":["keys:read"],"permissions":["admin"]})", true),
        R"(request body: duplicate member "permissions")", "duplicate");
    expect_refused(
        send("POST", "/v1/keys", R"({"owner":"x","metadata":{"a":{"b":1,"b":2}}})", true),
        R"(request body: duplicate member "b")", "nested duplicate");
    expect_refused(send("POST", "/v1/keys", std::string("{\"owner\":\"x\"}\0garbage", 21), true),
                   "request body: not valid JSON at byte 14", "NUL and garbage");
    expect_refused(send("POST", "/v1/keys", R"({"owner":"x"} {"owner":"y"})", true),
                   "request body: not valid JSON at byte 15: unexpected bytes after the JSON value",
                   "two documents");
    expect_refused(
        send("POST", "/v1/keys", R"({"owner":"x","remaining":18446744073709551616})", true),
        "request body: number \"18446744073709551616\" is out of range", "big number");
    expect_refused(send("POST", "/v1/keys", "\xEF\xBB\xBF{\"owner\":\"x\"}", true),
                   "request body: starts with a byte order mark", "BOM");
    EXPECT_EQ(key_count(), before);
}

// Invalid UTF-8 in a field, a lone surrogate, a path segment: 400 naming it.
TEST_F(DaemonStrictJson, TextThatIsNotUtf8IsAnInvalidArgument) {
    const auto before = key_count();
    expect_refused(send("POST", "/v1/keys", "{\"owner\":\"ci\xff\xfe\"}", true),
                   "request body: not valid JSON at byte 13: invalid string: ill-formed UTF-8 byte",
                   "UTF-8 in a field");
    expect_refused(send("POST", "/v1/keys", R"({"owner":"\ud800"})", true),
                   "request body: not valid JSON", "lone surrogate");
    const auto res = m_client->Get("/v1/states/bad%FF%FE", bearer(m_admin));
    expect_refused(res, "id: not valid UTF-8 text", "path segment");
    EXPECT_EQ(body_json(res)["param"], "id");
    expect_refused(m_client->Get("/v1/keys?owner=%C3", bearer(m_admin)),
                   "owner: not valid UTF-8 text", "query");
    EXPECT_EQ(key_count(), before);
}

// A deep message before authenticate and after: an error frame naming the
// limit, then the socket is closed (1007); other sockets are served.
TEST_F(DaemonStrictJson, WebSocketMessagesAreBounded) {
    WsClient bystander(m_pbd->port(), {{"X-API-Key", m_admin}});
    const auto deep = R"({"id":1,"op":"authenticate","args":{"key":)" +
                      std::string(1'000'000, '[') + std::string(1'000'000, ']') + "}}";
    for (const bool authenticated : {false, true}) {
        WsClient ws(m_pbd->port(), authenticated ? WsClient::Headers{{"X-API-Key", m_admin}}
                                                 : WsClient::Headers{});
        ws.send_text(deep);
        const auto m = ws.read(std::chrono::seconds(10));
        ASSERT_EQ(m.kind, WsMessage::Kind::text) << m.close_reason;
        const auto frame = m.json();
        EXPECT_EQ(frame["ok"], false);
        EXPECT_EQ(frame["error"]["code"], "invalid_argument");
        EXPECT_EQ(frame["error"]["message"], "message: JSON nested deeper than 64 levels");
        const auto closed = ws.wait_closed();
        EXPECT_EQ(closed.close_code, 1007);
        EXPECT_EQ(closed.close_reason, "message: JSON nested deeper than 64 levels");
        EXPECT_EQ(status_of(m_client->Get("/health")), 200);
    }
    // Duplicate members and a lone surrogate: refused, no library text.
    for (const std::string text : {R"({"id":1,"op":"keys.list","op":"keys.create","args":{}})",
                                   R"({"id":1,"op":"keys.create","args":{"owner":"\udc00"}})"}) {
        WsClient ws(m_pbd->port(), {{"X-API-Key", m_admin}});
        ws.send_text(text);
        const auto m = ws.read();
        ASSERT_EQ(m.kind, WsMessage::Kind::text);
        EXPECT_EQ(m.json()["error"]["code"], "invalid_argument") << m.payload;
        EXPECT_EQ(m.payload.find("json.exception"), std::string::npos) << m.payload;
    }
    EXPECT_EQ(bystander.call("keys.list")["ok"], true);
    EXPECT_EQ(key_count(), 1U);
}

// pbctl --server checks its arguments before sending them.
TEST_F(DaemonStrictJson, PbctlWithServerRefusesDeepDataAndBytesThatAreNotText) {
    const std::map<std::string, std::string> remote{
        {"PB_SERVER", m_pbd->url()}, {"PB_API_KEY", m_admin}, {"HOME", m_dir.path().string()}};
    const auto path = m_dir.file("deep.json");
    std::ofstream(path) << R"({"a":)" << std::string(140'000, '[') << std::string(140'000, ']')
                        << "}";
    auto r =
        run({pbctl_path(), "states", "register", "s1", "--type", "feature", "--data", "@" + path},
            remote);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("--data: JSON nested deeper than 63 levels"), std::string::npos) << r.err;
    r = run({pbctl_path(), "keys", "create", "--owner", "x\xff"}, remote);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("--owner: not valid UTF-8 text"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("json.exception"), std::string::npos) << r.err;
    EXPECT_EQ(key_count(), 1U);
    EXPECT_EQ(status_of(m_client->Get("/health")), 200);
}

}  // namespace
}  // namespace pb::test
