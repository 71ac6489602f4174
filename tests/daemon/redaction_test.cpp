// A whole API key sent where it does not belong is never logged or echoed.
#include <gtest/gtest.h>

#include "tests/daemon/daemon_fixture.hpp"

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

}  // namespace
}  // namespace pb::test
