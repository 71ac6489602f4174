// keys.update --identity: a key moves into an identity or out of it ("")
// through the real pbctl (on the database and --server), HTTP and WebSocket;
// the move is audited with the key's change event, and pbd's key index sees
// it at once (a verify through pbd names the new identity and spends its
// credits and limits). An identity that does not exist is not_found, with
// nothing written.
#include <thread>

#include "tests/daemon/daemon_fixture.hpp"
#include "tests/support/test_db.hpp"
#include "tests/support/ws_client.hpp"

namespace pb::test {
namespace {

using nlohmann::json;

class KeyIdentityMove : public ::testing::Test {
  protected:
    void SetUp() override {
        pbd = std::make_unique<RunningDaemon>(
            dir, DaemonOptions{.env = {{"PB_LIMITS_IP_RATE", "off"},
                                       {"PB_LIMITS_KEY_RATE", "off"},
                                       {"PB_LIMITS_USER_RATE", "off"},
                                       {"PB_BANS_AUTO_THRESHOLD", "0"}}});
        admin = pbd->bootstrap_key();
        ASSERT_FALSE(admin.empty()) << pbd->err();
        for (const auto& [id, remaining] : {std::pair{"acme", 100}, std::pair{"globex", 7}}) {
            const auto made =
                pbd->client()->Post("/v1/identities", bearer(admin),
                                    json{{"id", id},
                                         {"remaining", remaining},
                                         {"limits", {{{"name", "tokens"}, {"rate", "1000/day"}}}}}
                                        .dump(),
                                    "application/json");
            ASSERT_EQ(status_of(made), 201) << made->body;
        }
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
    // keys.verify through pbd's route (so through its in-memory key index).
    json verify(const std::string& text) {
        return body_json(
            pbd->client()->Post("/v1/keys/verify", json{{"key", text}}.dump(), "application/json"));
    }
    // The same, spending `cost` of the named limit "tokens".
    httplib::Result verify_costing(const std::string& text, int cost) {
        return pbd->client()->Post(
            "/v1/keys/verify",
            json{{"key", text}, {"limits", {{{"name", "tokens"}, {"cost", cost}}}}}.dump(),
            "application/json");
    }
    int remaining_of(const std::string& identity) {
        return body_json(
                   pbd->client()->Get("/v1/identities/" + identity, bearer(admin)))["remaining"]
            .get<int>();
    }
    // The audit rows of keys.update on `id`, newest first.
    json audit_of(const std::string& id) {
        return body_json(
            pbd->client()->Get("/v1/audit?op=keys.update&target=" + id, bearer(admin)))["entries"];
    }
    // How many events the key's topic holds.
    std::size_t events_of(const std::string& id) {
        return body_json(pbd->client()->Get("/v1/events?topic=keys/" + id + "&limit=100",
                                            bearer(admin)))["events"]
            .size();
    }

    TempDir dir;
    std::unique_ptr<RunningDaemon> pbd;
    std::string admin;
};

// pbctl on the database and through pbd: --identity moves a key in (its
// identity's credits and limits then apply to a verify through pbd, which
// has the key cached), into another, and out with --identity ''; each move
// is an audited keys.update with a key.updated event.
TEST_F(KeyIdentityMove, PbctlMovesAKeyInAndOutOnBothSurfaces) {
    for (const bool server : {false, true}) {
        SCOPED_TRACE(server ? "--server" : "--db");
        const auto key = pbctl_json(server, {"keys", "create", "--owner", "svc"});
        const std::string id = key["id"];
        const std::string text = key["key"];
        // Verified (so cached by pbd) while it has no identity: no "tokens" to spend.
        EXPECT_TRUE(verify(text)["identity"].is_null());
        EXPECT_EQ(status_of(verify_costing(text, 1)), 400);
        const auto events_before = events_of(id);
        const int acme_before = remaining_of("acme");

        auto moved = pbctl_json(server, {"keys", "update", id, "--identity", "acme"});
        EXPECT_EQ(moved["identity"], "acme") << moved.dump();
        EXPECT_EQ(events_of(id), events_before + 1);
        auto rows = audit_of(id);
        ASSERT_EQ(rows.size(), 1U);
        EXPECT_EQ(rows[0]["outcome"], "ok");
        EXPECT_NE(rows[0]["args"].dump().find("acme"), std::string::npos) << rows[0].dump();
        // pbd sees the move: the verify names acme, spends its credit and tokens.
        auto v = body_json(verify_costing(text, 250));
        EXPECT_EQ(v["valid"], true) << v.dump();
        EXPECT_EQ(v["identity"]["id"], "acme");
        EXPECT_EQ(v["identity"]["remaining"], acme_before - 1);
        EXPECT_EQ(limit_of(v, "tokens")["remaining"], server ? 500 : 750) << v.dump();

        const int globex_before = remaining_of("globex");
        moved = pbctl_json(server, {"keys", "update", id, "--identity", "globex"});
        EXPECT_EQ(moved["identity"], "globex");
        v = body_json(verify_costing(text, 100));
        EXPECT_EQ(v["identity"]["id"], "globex") << v.dump();
        EXPECT_EQ(v["identity"]["remaining"], globex_before - 1);
        EXPECT_EQ(limit_of(v, "tokens")["remaining"], server ? 800 : 900);
        EXPECT_EQ(remaining_of("acme"), acme_before - 1);

        // Out of any identity: the key is on its own again.
        moved = pbctl_json(server, {"keys", "update", id, "--identity", ""});
        EXPECT_TRUE(moved["identity"].is_null()) << moved.dump();
        EXPECT_TRUE(verify(text)["identity"].is_null());
        EXPECT_EQ(status_of(verify_costing(text, 1)), 400);  // "tokens" went with globex
        EXPECT_EQ(remaining_of("globex"), globex_before - 1);
        EXPECT_EQ(audit_of(id).size(), 3U);
        EXPECT_EQ(events_of(id), events_before + 3);

        // An identity that does not exist: exit 4, nothing written (no event,
        // the key unchanged, not even a name given with it), the refusal
        // audited; a bad identity id is exit 2. --identity '' on a key
        // outside any identity is no error.
        EXPECT_EQ(pbctl(server, {"keys", "update", id, "--identity", "a/b"}).exit_code, 2);
        EXPECT_EQ(
            pbctl(server, {"keys", "update", id, "--identity", "nobody", "--name", "x"}).exit_code,
            4);
        EXPECT_EQ(events_of(id), events_before + 3);
        const auto shown = pbctl_json(server, {"keys", "show", id});
        EXPECT_TRUE(shown["identity"].is_null());
        EXPECT_EQ(shown["name"], "");
        rows = audit_of(id);
        ASSERT_FALSE(rows.empty());
        EXPECT_EQ(rows[0]["outcome"], "not_found");
        EXPECT_TRUE(
            pbctl_json(server, {"keys", "update", id, "--identity", ""})["identity"].is_null());
    }
}

// HTTP PATCH and the WebSocket op: "identity" moves the key, "" takes it
// out; an unknown identity is 404 / not_found and a revoked key 409, with
// nothing written; keys:read alone may not move a key.
TEST_F(KeyIdentityMove, HttpAndWebSocketMoveAKey) {
    auto client = pbd->client();
    const auto key = created_key(*pbd, admin, {{"owner", "svc"}});
    const std::string id = key["id"];
    const std::string text = key["key"];
    const auto patch = [&](const json& body, const std::string& as) {
        return client->Patch("/v1/keys/" + id, bearer(as), body.dump(), "application/json");
    };
    auto res = patch({{"identity", "acme"}}, admin);
    ASSERT_EQ(status_of(res), 200) << res->body;
    EXPECT_EQ(body_json(res)["identity"], "acme");
    EXPECT_EQ(verify(text)["identity"]["id"], "acme");

    res = patch({{"identity", "nobody"}}, admin);
    EXPECT_EQ(status_of(res), 404) << res->body;
    EXPECT_EQ(body_json(res)["code"], "not_found") << res->body;
    EXPECT_EQ(verify(text)["identity"]["id"], "acme");

    const auto reader = created_key(*pbd, admin, {{"owner", "r"}, {"permissions", {"keys:read"}}});
    EXPECT_EQ(status_of(patch({{"identity", ""}}, reader["key"].get<std::string>())), 403);

    WsClient ws(pbd->port(), {{"Authorization", "Bearer " + admin}});
    auto answer = ws.call("keys.update", {{"id", id}, {"identity", "globex"}});
    EXPECT_EQ(answer["result"]["identity"], "globex") << answer.dump();
    EXPECT_EQ(verify(text)["identity"]["id"], "globex");
    answer = ws.call("keys.update", {{"id", id}, {"identity", "nobody"}});
    EXPECT_EQ(answer["error"]["code"], "not_found") << answer.dump();
    answer = ws.call("keys.update", {{"id", id}, {"identity", ""}});
    EXPECT_TRUE(answer["result"]["identity"].is_null()) << answer.dump();
    EXPECT_TRUE(verify(text)["identity"].is_null());

    // A key in an identity keeps that identity from being deleted without --force.
    EXPECT_EQ(status_of(patch({{"identity", "acme"}}, admin)), 200);
    EXPECT_EQ(status_of(client->Delete("/v1/identities/acme", bearer(admin))), 409);
    EXPECT_EQ(status_of(client->Post("/v1/keys/" + id + "/revoke", bearer(admin), "", "")), 200);
    EXPECT_EQ(status_of(patch({{"identity", "globex"}}, admin)), 409);
    EXPECT_EQ(body_json(client->Get("/v1/keys/" + id, bearer(admin)))["identity"], "acme");
}

// Two daemons on PostgreSQL: a key moved into an identity through one is
// verified with that identity by the other, which had the key cached
// without one (through the outbox; bounded wait), and out of it again.
TEST(KeyIdentityMoveOnPostgres, AnotherDaemonSeesTheMove) {
    TempDir dir;
    TestDb db{Backend::postgres};
    const DaemonOptions options{.env = {{"PB_MASTER_KEY_FILE", dir.file("master.key")},
                                        {"PB_LIMITS_IP_RATE", "off"},
                                        {"PB_LIMITS_USER_RATE", "off"},
                                        {"PB_LIMITS_KEY_RATE", "off"}},
                                .db = db.url()};
    RunningDaemon a(dir, options);
    RunningDaemon b(dir, options);
    const auto admin = a.bootstrap_key();
    ASSERT_FALSE(admin.empty()) << a.err();
    auto ca = a.client();
    auto cb = b.client();
    ASSERT_EQ(status_of(ca->Post("/v1/identities", bearer(admin), R"({"id":"acme"})",
                                 "application/json")),
              201);
    const auto key = created_key(a, admin, {{"owner", "svc"}});
    const std::string id = key["id"];
    const std::string text = key["key"];
    const auto identity_at = [&](httplib::Client& c) {
        return body_json(
            c.Post("/v1/keys/verify", json{{"key", text}}.dump(), "application/json"))["identity"];
    };
    EXPECT_TRUE(identity_at(*cb).is_null());  // b has it cached, without an identity
    const auto seen_by_b = [&](const json& expected) {
        for (int i = 0; i < 200; ++i) {  // bounded: two seconds
            const auto identity = identity_at(*cb);
            if (expected.is_null() ? identity.is_null()
                                   : identity.is_object() && identity["id"] == expected) {
                return true;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return false;
    };
    ASSERT_EQ(status_of(ca->Patch("/v1/keys/" + id, bearer(admin), R"({"identity":"acme"})",
                                  "application/json")),
              200);
    EXPECT_EQ(identity_at(*ca)["id"], "acme");
    EXPECT_TRUE(seen_by_b("acme"));
    ASSERT_EQ(status_of(cb->Patch("/v1/keys/" + id, bearer(admin), R"({"identity":""})",
                                  "application/json")),
              200);
    EXPECT_TRUE(identity_at(*cb).is_null());
    for (int i = 0; i < 200 && !identity_at(*ca).is_null(); ++i) {  // bounded: two seconds
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_TRUE(identity_at(*ca).is_null());
}

}  // namespace
}  // namespace pb::test
