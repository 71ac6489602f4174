// pbd's bodies and WebSocket args take only the JSON form of an op's params
// (issue #23): a CLI word, a text spelling, an unknown field is 400 with its
// JSON pointer and expected type and writes nothing; pbctl keeps its
// conveniences in both modes and sends the JSON form; query strings stay text.
#include <fstream>
#include <tuple>

#include "tests/daemon/daemon_fixture.hpp"
#include "tests/support/ws_client.hpp"

namespace pb::test {
namespace {

using nlohmann::json;

RunResult pbctl_local(const RunningDaemon& pbd, std::vector<std::string> args,
                      const std::string& stdin_text = "") {
    args.insert(args.begin(), pbctl_path());
    return run(args, {{"PB_DB", pbd.db()}}, stdin_text);
}

RunResult pbctl_remote(const RunningDaemon& pbd, std::vector<std::string> args,
                       const std::string& stdin_text = "") {
    args.insert(args.begin(), {pbctl_path(), "--server", pbd.url()});
    return run(args, {{"PB_API_KEY", pbd.bootstrap_key()}}, stdin_text);
}

std::string trimmed(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) {
        s.pop_back();
    }
    return s;
}

// Sends `body` (any text) with `method` to `path` as the admin.
httplib::Result send(const RunningDaemon& pbd, const std::string& method, const std::string& path,
                     const std::string& body) {
    httplib::Request req;
    req.method = method;
    req.path = path;
    req.headers = bearer(pbd.bootstrap_key());
    req.body = body;
    req.set_header("Content-Type", "application/json");
    return pbd.client()->send(req);
}

// The claims of `token`, decoded by pbd.
json claims_of(const RunningDaemon& pbd, const std::string& token) {
    const auto res = send(pbd, "POST", "/v1/tokens/inspect", json{{"token", token}}.dump());
    EXPECT_EQ(status_of(res), 200) << (res ? res->body : "");
    return body_json(res)["claims"];
}

// Everything a refused body could have written (keys, bans, states), by id;
// the admin key's last use aside, which each listing moves.
json written(const RunningDaemon& pbd) {
    json out;
    for (const auto& [path, list, id] :
         {std::tuple{"/v1/keys", "keys", "id"}, std::tuple{"/v1/bans", "bans", "target"},
          std::tuple{"/v1/states", "states", "id"}}) {
        const auto res = send(pbd, "GET", path, "");
        EXPECT_EQ(status_of(res), 200) << path;
        // Held: a range-for over a member of a temporary would dangle.
        const auto body = body_json(res);
        for (const auto& row : body[list]) {
            out[path].push_back(row[id]);
        }
    }
    return out;
}

void expect_400(const httplib::Result& res, const std::string& pointer,
                const std::string& expected) {
    ASSERT_EQ(status_of(res), 400) << (res ? res->body : "no answer");
    // An RFC 9457 problem document: the details are its top-level members.
    const auto problem = body_json(res);
    EXPECT_EQ(problem["code"], "invalid_argument") << problem.dump();
    EXPECT_EQ(problem.value("pointer", ""), pointer) << problem.dump();
    if (!expected.empty()) {
        EXPECT_EQ(problem.value("expected", ""), expected) << problem.dump();
    }
    // The message names the field.
    EXPECT_NE(problem.value("detail", "").find(pointer.substr(1, pointer.find('/', 1) - 1)),
              std::string::npos)
        << problem.dump();
}

// tokens.issue's one `claims` object: HTTP, WebSocket and pbctl in both modes
// (`--claim role=x` and `--claims '{"role":"x"}'`) end as the same claims.
TEST(JsonBodies, ClaimsObjectOnEverySurface) {
    TempDir dir;
    RunningDaemon pbd(dir);
    std::vector<std::string> tokens;
    const auto http =
        send(pbd, "POST", "/v1/tokens", json{{"sub", "u"}, {"claims", {{"role", "x"}}}}.dump());
    ASSERT_EQ(status_of(http), 201) << (http ? http->body : "");
    tokens.push_back(body_json(http)["access_token"]);
    WsClient ws(pbd.port(), {{"X-API-Key", pbd.bootstrap_key()}});
    const auto over_ws = ws.call("tokens.issue", {{"sub", "u"}, {"claims", {{"role", "x"}}}});
    ASSERT_EQ(over_ws["ok"], true) << over_ws.dump();
    tokens.push_back(over_ws["result"]["access_token"]);
    for (const auto& form : {std::vector<std::string>{"--claim", "role=x"},
                             std::vector<std::string>{"--claims", R"({"role":"x"})"}}) {
        std::vector<std::string> args{"tokens", "issue", "--sub", "u", "-q"};
        args.insert(args.end(), form.begin(), form.end());
        for (const auto& r : {pbctl_local(pbd, args), pbctl_remote(pbd, args)}) {
            ASSERT_EQ(r.exit_code, 0) << r.err;
            tokens.push_back(trimmed(r.out));
        }
    }
    ASSERT_EQ(tokens.size(), 6U);
    for (const auto& t : tokens) {
        EXPECT_EQ(claims_of(pbd, t).value("role", json()), "x");
    }
    // A word overrides the same claim of --claims, on both modes alike.
    for (const auto& r : {pbctl_local(pbd, {"tokens", "issue", "--sub", "u", "-q", "--claims",
                                            R"({"role":"y","n":1})", "--claim", "role=x"}),
                          pbctl_remote(pbd, {"tokens", "issue", "--sub", "u", "-q", "--claims",
                                             R"({"role":"y","n":1})", "--claim", "role=x"})}) {
        ASSERT_EQ(r.exit_code, 0) << r.err;
        const auto claims = claims_of(pbd, trimmed(r.out));
        EXPECT_EQ(claims.value("role", json()), "x");
        EXPECT_EQ(claims.value("n", json()), 1);
    }
}

// CLI words and text spellings in a body: 400 invalid_argument with the
// field's pointer and the expected JSON type, and nothing written.
TEST(JsonBodies, CliSpellingsInABodyAreRefusedWithPointer) {
    TempDir dir;
    RunningDaemon pbd(dir);
    const auto before = written(pbd);
    struct Case {
        std::string method, path;
        json body;
        std::string pointer, expected;
    };
    const std::vector<Case> cases{
        {"POST", "/v1/tokens", {{"sub", "u"}, {"claim", {"role=x"}}}, "/claim", ""},
        {"POST",
         "/v1/tokens",
         {{"sub", "u"}, {"claims_json", {{"role", "x"}}}},
         "/claims_json",
         ""},
        {"POST",
         "/v1/tokens",
         {{"sub", "u"}, {"claims", R"({"role":"x"})"}},
         "/claims",
         "an object"},
        {"POST", "/v1/tokens", {{"sub", "u"}, {"refresh", "true"}}, "/refresh", "true or false"},
        {"POST",
         "/v1/keys",
         {{"owner", "o"}, {"permissions", "read"}},
         "/permissions",
         "an array of strings"},
        {"POST",
         "/v1/keys",
         {{"owner", "o"}, {"permissions", {"read", 3}}},
         "/permissions/1",
         "a non-empty string"},
        {"POST", "/v1/keys", {{"owner", "o"}, {"remaining", "5"}}, "/remaining", "an integer"},
        {"POST",
         "/v1/keys",
         {{"owner", "o"}, {"metadata", R"({"a":1})"}},
         "/metadata",
         "an object"},
        {"POST", "/v1/keys", {{"owner", "o"}, {"bogus", 1}}, "/bogus", ""},
        {"POST", "/v1/keys", {{"owner", "o"}, {"expires", "never"}}, "/expires", ""},
        {"GET", "/v1/keys", {{"limit", "5"}}, "/limit", "an integer"},
        {"POST",
         "/v1/states",
         {{"id", "s1"}, {"type", "user"}, {"data", "{}"}},
         "/data",
         "an object"},
        {"POST",
         "/v1/bans",
         {{"target", "203.0.113.9"}, {"force", "yes"}},
         "/force",
         "true or false"},
        {"POST", "/v1/bans/import", {{"file", "/etc/hostname"}}, "/file", ""},
        {"POST",
         "/v1/bans/import",
         {{"format", "csv"}, {"document", {{"bans", json::array()}}}},
         "/format",
         ""},
        {"POST", "/v1/bans/import", json::object(), "/document", "an object"},
        {"POST", "/v1/actions/none/run", {{"arg", {"a=b"}}}, "/arg", ""},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.method + " " + c.path + " " + c.body.dump());
        expect_400(send(pbd, c.method, c.path, c.body.dump()), c.pointer, c.expected);
    }
    EXPECT_EQ(written(pbd), before);
}

// The same refusals on the WebSocket: an error frame with the pointer.
TEST(JsonBodies, WebSocketArgsAreStrictToo) {
    TempDir dir;
    RunningDaemon pbd(dir);
    const auto before = written(pbd);
    WsClient ws(pbd.port(), {{"X-API-Key", pbd.bootstrap_key()}});
    const auto expect_refused = [&](const std::string& op, const json& args,
                                    const std::string& pointer) {
        SCOPED_TRACE(op + " " + args.dump());
        const auto answer = ws.call(op, args);
        ASSERT_EQ(answer.value("ok", true), false) << answer.dump();
        EXPECT_EQ(answer["error"]["code"], "invalid_argument") << answer.dump();
        EXPECT_EQ(answer["error"]["details"].value("pointer", ""), pointer) << answer.dump();
    };
    expect_refused("tokens.issue", {{"sub", "u"}, {"claim", {"role=x"}}}, "/claim");
    expect_refused("keys.create", {{"owner", "o"}, {"remaining", "5"}}, "/remaining");
    expect_refused("keys.create", {{"owner", "o"}, {"permissions", "read"}}, "/permissions");
    expect_refused("keys.list", {{"limit", "5"}}, "/limit");
    EXPECT_EQ(written(pbd), before);
}

// A query string is text: its values are still read as numbers and booleans.
TEST(JsonBodies, QueryStringsStillReadText) {
    TempDir dir;
    RunningDaemon pbd(dir);
    for (const char* owner : {"a", "b", "c"}) {
        ASSERT_EQ(status_of(send(pbd, "POST", "/v1/keys", json{{"owner", owner}}.dump())), 201);
    }
    const auto page = send(pbd, "GET", "/v1/keys?limit=2", "");
    ASSERT_EQ(status_of(page), 200) << (page ? page->body : "");
    EXPECT_EQ(body_json(page)["keys"].size(), 2U);
    EXPECT_TRUE(body_json(page)["next_cursor"].is_string());
    EXPECT_EQ(status_of(send(pbd, "GET", "/v1/bans?include_expired=true", "")), 200);
    // A duration's digits are milliseconds, as pbctl --server sends them.
    const auto audit = send(pbd, "GET", "/v1/audit?since=3600000", "");
    EXPECT_EQ(status_of(audit), 200) << (audit ? audit->body : "");
    const auto listed = pbctl_remote(pbd, {"audit", "list", "--since", "1h", "-o", "json"});
    EXPECT_EQ(listed.exit_code, 0) << listed.err;
    // Text that is no integer is still refused, with its pointer.
    expect_400(send(pbd, "GET", "/v1/keys?limit=five", ""), "/limit", "an integer");
}

// bans import FILE: pbctl reads the file and sends the document, on the
// database and through --server alike; the daemon takes no file.
TEST(JsonBodies, BansImportFileInBothModes) {
    TempDir dir;
    RunningDaemon pbd(dir);
    const auto local_csv = dir.file("local.csv");
    const auto remote_json = dir.file("remote.json");
    std::ofstream(local_csv) << "target,expires_at,reason\n203.0.113.1,,local\n";
    std::ofstream(remote_json)
        << R"({"bans":[{"target":"203.0.113.2","expires_at":null,"reason":"remote"}]})";
    const auto local = pbctl_local(pbd, {"bans", "import", local_csv, "-o", "json"});
    ASSERT_EQ(local.exit_code, 0) << local.err;
    EXPECT_EQ(json::parse(local.out)["imported"], 1);
    const auto remote =
        pbctl_remote(pbd, {"bans", "import", remote_json, "--format", "json", "-o", "json"});
    ASSERT_EQ(remote.exit_code, 0) << remote.err;
    EXPECT_EQ(json::parse(remote.out)["imported"], 1);
    const auto bans = body_json(send(pbd, "GET", "/v1/bans", ""))["bans"];
    ASSERT_EQ(bans.size(), 2U) << bans.dump();
    // A file pbctl cannot read is its own error, naming the path, in both modes.
    for (const auto& r : {pbctl_local(pbd, {"bans", "import", dir.file("missing.csv")}),
                          pbctl_remote(pbd, {"bans", "import", dir.file("missing.csv")})}) {
        EXPECT_EQ(r.exit_code, 2) << r.err;
        EXPECT_NE(r.err.find("missing.csv"), std::string::npos) << r.err;
    }
}

// pbctl keeps naming its flags, in both modes: the text is checked before it is sent.
TEST(JsonBodies, PbctlMessagesNameTheFlag) {
    TempDir dir;
    RunningDaemon pbd(dir);
    for (const auto& r :
         {pbctl_local(pbd, {"keys", "create", "--owner", "o", "--remaining", "x"}),
          pbctl_remote(pbd, {"keys", "create", "--owner", "o", "--remaining", "x"})}) {
        EXPECT_EQ(r.exit_code, 2);
        EXPECT_NE(r.err.find("--remaining: expected an integer"), std::string::npos) << r.err;
    }
    for (const auto& r :
         {pbctl_local(pbd, {"tokens", "issue", "--sub", "u", "--claim", "novalue"}),
          pbctl_remote(pbd, {"tokens", "issue", "--sub", "u", "--claim", "novalue"})}) {
        EXPECT_EQ(r.exit_code, 2);
        EXPECT_NE(r.err.find("--claim: expected NAME=VALUE"), std::string::npos) << r.err;
    }
}

// One tokens.max_size on every surface: a token between 4,096 characters and
// max_size verifies on HTTP, pbctl (both modes) and /v1/auth; one over it is
// refused with the same reason on each.
TEST(JsonBodies, TokensUpToMaxSizeVerifyEverywhere) {
    TempDir dir;
    RunningDaemon pbd(dir);
    const auto issued =
        send(pbd, "POST", "/v1/tokens",
             json{{"sub", "big"},
                  {"claims", {{"permissions", {"keys:read"}}, {"pad", std::string(3500, 'p')}}}}
                 .dump());
    ASSERT_EQ(status_of(issued), 201) << (issued ? issued->body : "");
    const std::string token = body_json(issued)["access_token"];
    ASSERT_GT(token.size(), 4096U);
    ASSERT_LT(token.size(), 8192U);
    const auto verified = send(pbd, "POST", "/v1/tokens/verify", json{{"token", token}}.dump());
    EXPECT_EQ(body_json(verified)["valid"], true) << (verified ? verified->body : "");
    for (const auto& r : {pbctl_local(pbd, {"tokens", "verify", "-"}, token),
                          pbctl_remote(pbd, {"tokens", "verify", "-"}, token)}) {
        EXPECT_EQ(r.exit_code, 0) << r.err;
    }
    const auto auth = pbd.client()->Get("/v1/auth", bearer(token));
    EXPECT_EQ(status_of(auth), 200) << (auth ? auth->body : "");

    // Over max_size: the token service refuses it, "malformed", on each surface.
    const std::string huge = token + std::string(8192 - token.size() + 10, 'A');
    const auto refused =
        body_json(send(pbd, "POST", "/v1/tokens/verify", json{{"token", huge}}.dump()));
    EXPECT_EQ(refused["valid"], false) << refused.dump();
    EXPECT_EQ(refused["reason"], "malformed");
    EXPECT_NE(refused.value("message", "").find("tokens.max_size"), std::string::npos);
    for (const auto& r : {pbctl_local(pbd, {"tokens", "verify", "-"}, huge),
                          pbctl_remote(pbd, {"tokens", "verify", "-"}, huge)}) {
        EXPECT_EQ(r.exit_code, 3) << r.err;
        EXPECT_NE(r.err.find("malformed"), std::string::npos) << r.err;
    }
    const auto auth_refused = pbd.client()->Get("/v1/auth", bearer(huge));
    EXPECT_EQ(status_of(auth_refused), 401);
    EXPECT_EQ(body_json(auth_refused)["reason"], "malformed");
    // inspect and revoke hold it to the same bound.
    for (const char* path : {"/v1/tokens/inspect", "/v1/tokens/revoke"}) {
        SCOPED_TRACE(path);
        const auto res = send(pbd, "POST", path, json{{"token", huge}}.dump());
        EXPECT_EQ(status_of(res), 400);
        EXPECT_NE(body_json(res).value("detail", "").find("tokens.max_size"), std::string::npos)
            << (res ? res->body : "");
    }
}

}  // namespace
}  // namespace pb::test
