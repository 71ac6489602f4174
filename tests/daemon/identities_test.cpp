// Identities and named limits on every surface: pbctl on the database and
// with --server, HTTP and WebSocket give the same answers; a key's and its
// identity's limits apply whoever asks to verify it; bad input is refused
// with the right code and changes nothing.
#include "tests/daemon/daemon_fixture.hpp"
#include "tests/support/ws_client.hpp"

namespace pb::test {
namespace {

using nlohmann::json;

class Identities : public ::testing::Test {
  protected:
    void SetUp() override {
        pbd = std::make_unique<RunningDaemon>(dir, DaemonOptions{.env = only_own_limits()});
        admin = pbd->bootstrap_key();
        ASSERT_FALSE(admin.empty()) << pbd->err();
    }

    // pbctl on pbd's database (server false) or through pbd with the admin key.
    RunResult pbctl(bool server, std::vector<std::string> args, const std::string& input = "") {
        return pbctl_beside(*pbd, server, admin, std::move(args), {{"PB_LIMITS_KEY_RATE", "off"}},
                            input);
    }
    json pbctl_json(bool server, std::vector<std::string> args, int expected_exit = 0,
                    const std::string& input = "") {
        args.insert(args.end(), {"-o", "json"});
        const auto r = pbctl(server, args, input);
        EXPECT_EQ(r.exit_code, expected_exit) << r.out << r.err;
        return json::parse(r.out, nullptr, false);
    }
    int count(const std::string& path, const std::string& field) {
        return static_cast<int>(body_json(pbd->client()->Get(path, bearer(admin)))[field].size());
    }

    TempDir dir;
    std::unique_ptr<RunningDaemon> pbd;
    std::string admin;
};

// The whole life of an identity through the real pbctl, on the database and
// through pbd: the same answers, the same exit codes.
TEST_F(Identities, PbctlOnTheDatabaseAndThroughPbdAgree) {
    json answers[2];
    for (const bool server : {false, true}) {
        SCOPED_TRACE(server ? "--server" : "--db");
        const std::string id = server ? "acme-remote" : "acme-local";
        auto created =
            pbctl_json(server, {"identities", "create", id, "--meta", "plan=pro", "--limit",
                                "requests=100/min:auto", "--limit", "tokens=1000/day",
                                "--remaining", "3", "--refill", "1000/month@15"});
        EXPECT_EQ(created["metadata"], (json{{"plan", "pro"}}));
        EXPECT_EQ(created["limits"].size(), 2u);
        EXPECT_EQ(
            created["limits"][0],
            (json{{"name", "requests"}, {"rate", "100/min"}, {"auto", true}, {"shadow", false}}));
        EXPECT_EQ(created["remaining"], 3);
        EXPECT_EQ(created["refill"], "1000/month@15");
        const auto key = pbctl_json(server, {"keys", "create", "--owner", "svc", "--identity", id});
        EXPECT_EQ(key["identity"], id);
        const std::string text = key["key"];

        auto verified =
            pbctl_json(server, {"keys", "verify", "-", "--cost", "tokens=250"}, 0, text + "\n");
        EXPECT_EQ(verified["identity"]["id"], id);
        EXPECT_EQ(verified["identity"]["remaining"], 2);
        ASSERT_EQ(verified["limits"].size(), 2u) << verified.dump();
        EXPECT_EQ(limit_of(verified, "tokens")["remaining"], 750);
        EXPECT_EQ(limit_of(verified, "requests")["remaining"], 99);
        // Over the budget: refused, naming the limit; exit 3 (a verdict).
        // (pbctl on the database counts named limits in the database: the
        // 250 its last run spent count.)
        auto refused = pbctl_json(
            server, {"keys", "verify", "-", "--limits", R"([{"name":"tokens","cost":1000}])"}, 3,
            text + "\n");
        EXPECT_EQ(refused["reason"], "rate_limited");
        EXPECT_EQ(refused["limit"], "tokens");
        // Unknown limits and costs out of range: exit 2, nothing spent.
        EXPECT_EQ(
            pbctl(server, {"keys", "verify", "-", "--cost", "bytes=1"}, text + "\n").exit_code, 2);
        EXPECT_EQ(
            pbctl(server, {"keys", "verify", "-", "--cost", "tokens=0"}, text + "\n").exit_code, 2);
        EXPECT_EQ(
            pbctl(server, {"keys", "verify", "-", "--cost", "tokens=1001"}, text + "\n").exit_code,
            2);
        const auto shown = pbctl_json(server, {"identities", "show", id});
        EXPECT_EQ(shown["remaining"], 2);

        const auto updated = pbctl_json(server, {"identities", "update", id, "--remaining", "50",
                                                 "--limit", "requests=5/s:auto:shadow"});
        EXPECT_EQ(updated["remaining"], 50);
        EXPECT_EQ(updated["limits"].size(), 1u);
        EXPECT_EQ(updated["limits"][0]["shadow"], true);
        const auto listed = pbctl_json(server, {"identities", "list", "--limit", "1"});
        EXPECT_EQ(listed["identities"].size(), 1u);

        // Bad input: exit 2, nothing changed.
        EXPECT_EQ(pbctl(server, {"identities", "create", "x", "--refill", "10/week"}).exit_code, 2);
        EXPECT_EQ(pbctl(server, {"identities", "create", "x", "--limit", "r=fast"}).exit_code, 2);
        EXPECT_EQ(pbctl(server, {"identities", "create", "x", "--limit", "r"}).exit_code, 2);
        EXPECT_EQ(pbctl(server, {"identities", "update", id, "--refill", "1/month@32"}).exit_code,
                  2);
        EXPECT_EQ(
            pbctl(server, {"keys", "create", "--owner", "o", "--identity", "nobody"}).exit_code, 4);
        EXPECT_EQ(pbctl(server, {"identities", "show", "x"}).exit_code, 4);
        EXPECT_EQ(pbctl(server, {"identities", "create", id}).exit_code, 5);

        // Delete: refused while a key belongs (exit 5); --force revokes it.
        EXPECT_EQ(pbctl(server, {"identities", "delete", id}).exit_code, 5);
        const auto deleted = pbctl_json(server, {"identities", "delete", id, "--force"});
        EXPECT_EQ(deleted["revoked_keys"], json::array({key["id"]}));
        const auto after = pbctl_json(server, {"keys", "verify", "-"}, 3, text + "\n");
        EXPECT_EQ(after["reason"], "revoked");
        created.erase("id");
        created.erase("created_at");
        created.erase("updated_at");
        created.erase("created_by");
        created.erase("last_refill_at");
        answers[server ? 1 : 0] = created;
    }
    EXPECT_EQ(answers[0], answers[1]);
    EXPECT_EQ(count("/v1/identities", "identities"), 0);
}

// HTTP and WebSocket: the routes, the verify answer with an identity and
// named limits, and refusals by code; a key's auto limit applies to its own
// requests to pbd too.
TEST_F(Identities, HttpAndWebSocketAnswerAlike) {
    auto client = pbd->client();
    const auto made = client->Post(
        "/v1/identities", bearer(admin),
        R"({"id":"acme","limits":[{"name":"tokens","rate":"1000/day"}]})", "application/json");
    ASSERT_EQ(status_of(made), 201) << made->body;
    const auto key =
        created_key(*pbd, admin,
                    {{"owner", "svc"},
                     {"identity", "acme"},
                     {"permissions", {"identities:read"}},
                     {"limits", {{{"name", "requests"}, {"rate", "3/min"}, {"auto", true}}}}});
    const std::string text = key["key"];
    const auto verify = [&](const json& body) {
        return client->Post("/v1/keys/verify", body.dump(), "application/json");
    };
    const auto ok = verify({{"key", text}, {"limits", {{{"name", "tokens"}, {"cost", 400}}}}});
    ASSERT_EQ(status_of(ok), 200);
    const auto answer = body_json(ok);
    EXPECT_EQ(answer["valid"], true);
    EXPECT_EQ(answer["identity"]["id"], "acme");
    EXPECT_EQ(limit_of(answer, "tokens")["remaining"], 600);
    EXPECT_EQ(limit_of(answer, "requests")["remaining"], 2);

    WsClient ws(pbd->port(), {{"Authorization", "Bearer " + admin}});
    const auto over_ws =
        ws.call("keys.verify", {{"key", text}, {"limits", {{{"name", "tokens"}, {"cost", 700}}}}});
    EXPECT_EQ(over_ws["result"]["valid"], false) << over_ws.dump();
    EXPECT_EQ(over_ws["result"]["limit"], "tokens");
    const auto unknown = ws.call("keys.verify", {{"key", text}, {"limits", {{{"name", "bytes"}}}}});
    EXPECT_EQ(unknown["error"]["code"], "invalid_argument") << unknown.dump();
    EXPECT_EQ(status_of(verify({{"key", text}, {"limits", {{{"name", "tokens"}, {"cost", 0}}}}})),
              400);
    EXPECT_EQ(status_of(verify({{"key", text}, {"limits", "tokens"}})), 400);
    // Nothing was spent by the refusals: 600 left, and one request of 3.
    const auto again =
        body_json(verify({{"key", text}, {"limits", {{{"name", "tokens"}, {"cost", 600}}}}}));
    EXPECT_EQ(again["valid"], true) << again.dump();
    EXPECT_EQ(limit_of(again, "tokens")["remaining"], 0);
    EXPECT_EQ(limit_of(again, "requests")["remaining"], 1);  // two verifies admitted of 3

    // The key's own auto limit applies when it calls pbd: its third request
    // of the minute passes, the fourth is refused naming the limit.
    EXPECT_EQ(status_of(client->Get("/v1/identities/acme", bearer(text))), 200);
    const auto refused = client->Get("/v1/identities/acme", bearer(text));
    EXPECT_EQ(status_of(refused), 429) << refused->body;
    EXPECT_NE(refused->body.find("requests"), std::string::npos);
}

// identities:read lists and shows; identities:write creates; keys:write alone does neither.
TEST_F(Identities, PermissionsAreIdentitiesReadAndWrite) {
    auto client = pbd->client();
    const auto reader =
        created_key(*pbd, admin, {{"owner", "r"}, {"permissions", {"identities:read"}}});
    const auto writer =
        created_key(*pbd, admin, {{"owner", "w"}, {"permissions", {"identities:write"}}});
    const auto keys_only =
        created_key(*pbd, admin, {{"owner", "k"}, {"permissions", {"keys:write"}}});
    const auto create = [&](const json& k, const std::string& id) {
        return status_of(client->Post("/v1/identities", bearer(k["key"].get<std::string>()),
                                      json{{"id", id}}.dump(), "application/json"));
    };
    EXPECT_EQ(create(keys_only, "a"), 403);
    EXPECT_EQ(create(reader, "a"), 403);
    EXPECT_EQ(create(writer, "a"), 201);
    EXPECT_EQ(status_of(client->Get("/v1/identities", bearer(reader["key"].get<std::string>()))),
              200);
    EXPECT_EQ(
        status_of(client->Get("/v1/identities/a", bearer(keys_only["key"].get<std::string>()))),
        403);
    EXPECT_EQ(status_of(client->Get("/v1/identities/a", bearer(reader["key"].get<std::string>()))),
              200);
    EXPECT_EQ(
        status_of(client->Delete("/v1/identities/a", bearer(reader["key"].get<std::string>()))),
        403);
    EXPECT_EQ(
        status_of(client->Delete("/v1/identities/a", bearer(writer["key"].get<std::string>()))),
        200);
}

}  // namespace
}  // namespace pb::test
