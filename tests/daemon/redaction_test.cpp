// A whole API key sent where it does not belong is never logged or echoed.
#include <gtest/gtest.h>

#include "common/core/crypto.hpp"
#include "tests/daemon/daemon_fixture.hpp"
#include "tests/support/ws_client.hpp"

namespace pb::test {
namespace {

// Pins: GET /v1/keys/<a whole key> (the key where its id belongs), with
// debug logging on: the 404 body and the log name the key's id only; the same
// for an unknown route with a key in its path or query, for a percent-encoded
// key, and for pbctl.
TEST(DaemonRedaction, WholeKeyInAPathIsNeitherLoggedNorEchoed) {
    TempDir dir;
    RunningDaemon pbd(dir, {.args = {"--log-level", "debug"}});
    const auto admin = pbd.bootstrap_key();
    ASSERT_FALSE(admin.empty());
    const auto created =
        pbd.client()->Post("/v1/keys", bearer(admin), R"({"owner":"svc"})", "application/json");
    ASSERT_EQ(status_of(created), 201);
    const auto key = body_json(created)["key"].get<std::string>();
    const auto id = body_json(created)["id"].get<std::string>();
    const auto secret = key.substr(4 + id.size());

    auto client = pbd.client();
    const auto shown = client->Get("/v1/keys/" + key, bearer(admin));
    EXPECT_EQ(status_of(shown), 404);
    ASSERT_TRUE(shown);
    EXPECT_EQ(shown->body.find(secret), std::string::npos) << shown->body;
    EXPECT_NE(shown->body.find("pb_" + id + "_"), std::string::npos) << shown->body;
    const auto revoked = client->Post("/v1/keys/" + key + "/revoke", bearer(admin), "", "");
    ASSERT_TRUE(revoked);
    EXPECT_EQ(revoked->body.find(secret), std::string::npos) << revoked->body;
    const auto unrouted = client->Get("/v1/nowhere/" + key + "?key=" + key, bearer(admin));
    EXPECT_EQ(status_of(unrouted), 404);
    ASSERT_TRUE(unrouted);
    EXPECT_EQ(unrouted->body.find(secret), std::string::npos) << unrouted->body;
    // Percent-encoded, the key is cut in the log all the same (pbd logs the
    // decoded path).
    const auto encoded = "pb%5F" + key.substr(3);
    EXPECT_EQ(status_of(client->Get("/v1/keys/" + encoded, bearer(admin))), 404);
    EXPECT_EQ(status_of(client->Get("/v1/nowhere/" + encoded, bearer(admin))), 404);
    // The key still works: nothing was revoked by the mistaken id.
    EXPECT_EQ(status_of(client->Get("/v1/keys", bearer(admin))), 200);

    ASSERT_EQ(pbd.process().signal_and_wait(SIGTERM, std::chrono::seconds(5)), 0);
    const auto log = pbd.err();
    EXPECT_NE(log.find("/v1/keys/pb_" + id + "_"), std::string::npos)
        << "no debug line for the request:\n"
        << log;
    EXPECT_EQ(log.find(secret), std::string::npos) << log;
    EXPECT_EQ(pbd.out().find(secret), std::string::npos);

    const auto local = run({pbctl_path(), "--db", pbd.db(), "keys", "show", key}, {});
    EXPECT_EQ(local.exit_code, 4) << local.err;
    EXPECT_EQ(local.err.find(secret), std::string::npos) << local.err;
    EXPECT_NE(local.err.find("pb_" + id + "_"), std::string::npos) << local.err;
}

// Pins: another system's key (imported by hash, so any text: pb cannot tell
// it by its shape), valid or unknown, presented over HTTP (Authorization,
// X-API-Key, /v1/auth, keys.verify's body) and WebSocket (the upgrade's
// header, authenticate, keys.verify), or given where a key's id belongs
// (a path, keys.show/revoke/update, pbctl), appears in no answer and not in
// pbd's log (debug level, the audit lines included); the log names the
// requests all the same.
TEST(DaemonRedaction, AnotherSystemsKeyIsNeitherLoggedNorEchoed) {
    TempDir dir;
    RunningDaemon pbd(dir, {.env = {{"PB_LIMITS_IP_RATE", "off"}, {"PB_LIMITS_KEY_RATE", "off"}},
                            .args = {"--log-level", "debug"}});
    const auto admin = pbd.bootstrap_key();
    ASSERT_FALSE(admin.empty());
    const std::string valid = "sk_live_Valid0Imported7Text9Qz";
    const std::string unknown = "xoxb-1765-Unknown-Text-8Kq2";
    const auto imported = run({pbctl_path(), "--server", pbd.url(), "keys", "import", "--hash",
                               "sha256:" + crypto::to_hex(crypto::sha256(valid)), "--owner",
                               "legacy", "--perm", "keys:read", "-o", "json"},
                              {{"PB_API_KEY", admin}});
    ASSERT_EQ(imported.exit_code, 0) << imported.err;

    std::string answers;  // every answer pbd and pbctl gave, to search
    const auto keep = [&](const httplib::Result& r) {
        answers += r ? r->body + "\n" : "(no answer)\n";
        if (r) {
            for (const auto& [name, value] : r->headers) {
                answers += name + ": " + value + "\n";
            }
        }
        return status_of(r);
    };
    auto c = pbd.client();
    for (const auto& text : {valid, unknown}) {
        SCOPED_TRACE(text);
        const bool is_valid = text == valid;
        EXPECT_EQ(keep(c->Get("/v1/keys", bearer(text))), is_valid ? 200 : 401);
        EXPECT_EQ(keep(c->Get("/v1/auth", {{"X-API-Key", text}})), is_valid ? 200 : 401);
        EXPECT_EQ(keep(c->Post("/v1/keys/verify", nlohmann::json{{"key", text}}.dump(),
                               "application/json")),
                  200);
        EXPECT_EQ(keep(c->Get("/v1/keys/" + text, bearer(admin))), 404);
        EXPECT_EQ(keep(c->Post("/v1/keys/" + text + "/revoke", bearer(admin), "", "")), 404);
        EXPECT_EQ(keep(c->Patch("/v1/keys/" + text, bearer(admin), R"({"name":"x"})",
                                "application/json")),
                  404);
        EXPECT_EQ(keep(c->Put("/v1/keys/" + text, bearer(admin), "{}", "application/json")), 405);
        EXPECT_EQ(keep(c->Get("/v1/keys/" + text + "/nowhere", bearer(admin))), 404);

        const auto [status, body] =
            WsClient::try_upgrade(pbd.port(), {{"Authorization", "Bearer " + text}});
        EXPECT_EQ(status, is_valid ? 101 : 401);
        answers += body + "\n";
        WsClient anonymous(pbd.port());
        auto frame = anonymous.call("authenticate", {{"api_key", text}});
        EXPECT_EQ(frame.contains("result"), is_valid) << frame.dump();
        answers += frame.dump() + "\n";
        WsClient ws(pbd.port(), {{"Authorization", "Bearer " + admin}});
        frame = ws.call("keys.verify", {{"key", text}});
        EXPECT_EQ(frame["result"]["valid"], is_valid) << frame.dump();
        answers += frame.dump() + "\n";
        for (const auto* op : {"keys.show", "keys.revoke", "keys.update"}) {
            frame = ws.call(op, {{"id", text}});
            EXPECT_EQ(frame["error"]["code"], "not_found") << op << frame.dump();
            answers += frame.dump() + "\n";
        }

        for (const bool server : {false, true}) {
            std::vector<std::string> argv{pbctl_path()};
            std::map<std::string, std::string> env{{"PB_DB", pbd.db()}};
            if (server) {
                argv.insert(argv.end(), {"--server", pbd.url()});
                env = {{"PB_API_KEY", admin}};
            }
            auto show = argv;
            show.insert(show.end(), {"keys", "revoke", text});
            const auto shown = run(show, env);
            EXPECT_EQ(shown.exit_code, 4) << shown.err;
            answers += shown.out + shown.err;
            argv.insert(argv.end(), {"keys", "verify", "-"});
            const auto verified = run(argv, env, text + "\n");
            EXPECT_EQ(verified.exit_code, is_valid ? 0 : 3) << verified.err;
            answers += verified.out + verified.err;
        }
    }
    EXPECT_EQ(answers.find(valid), std::string::npos) << answers;
    EXPECT_EQ(answers.find(unknown), std::string::npos) << answers;
    // Its audit rows hold it no more than the log does.
    const auto audit = c->Get("/v1/audit?op=keys.revoke", bearer(admin));
    ASSERT_EQ(status_of(audit), 200);
    EXPECT_GE(body_json(audit)["entries"].size(), 4U);
    EXPECT_EQ(audit->body.find(valid), std::string::npos) << audit->body;
    EXPECT_EQ(audit->body.find(unknown), std::string::npos) << audit->body;

    ASSERT_EQ(pbd.process().signal_and_wait(SIGTERM, std::chrono::seconds(5)), 0);
    const auto log = pbd.err() + pbd.out();
    EXPECT_NE(log.find("/revoke 404"), std::string::npos) << "no debug line for the requests:\n"
                                                          << log;
    EXPECT_NE(log.find("op=keys.revoke"), std::string::npos) << log;
    EXPECT_EQ(log.find(valid), std::string::npos) << log;
    EXPECT_EQ(log.find(unknown), std::string::npos) << log;
}

}  // namespace
}  // namespace pb::test
