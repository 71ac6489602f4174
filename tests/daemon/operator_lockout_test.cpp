// A ban cannot lock the operator out of pbd.
#include <gtest/gtest.h>

#include "tests/daemon/daemon_fixture.hpp"

namespace pb::test {
namespace {

using nlohmann::json;

// Pins: POST /v1/bans of 0.0.0.0/0 (or ::/0) is 409 naming bans.allow, and
// pbctl --server exits 5, nothing banned; with force it is banned, every route
// refuses loopback (403) but /health, /ready and /metrics, which still answer 200.
TEST(DaemonOperatorLockout, BanOfEverythingNeedsForceAndSparesLoopbackProbes) {
    TempDir dir;
    RunningDaemon pbd(dir, {.env = {{"PB_LIMITS_IP_RATE", "off"}}});
    const auto admin = pbd.bootstrap_key();
    ASSERT_FALSE(admin.empty());
    auto c = pbd.client();
    for (const char* target : {"0.0.0.0/0", "::/0"}) {
        const auto res =
            c->Post("/v1/bans", bearer(admin), json{{"target", target}}.dump(), "application/json");
        EXPECT_EQ(status_of(res), 409) << target;
        EXPECT_EQ(body_json(res)["code"], "conflict");
        EXPECT_NE(body_json(res)["detail"].get<std::string>().find("bans.allow"),
                  std::string::npos);
    }
    const std::map<std::string, std::string> env{{"PB_SERVER", pbd.url()}, {"PB_API_KEY", admin}};
    const auto remote = run({pbctl_path(), "bans", "add", "0.0.0.0/0"}, env);
    EXPECT_EQ(remote.exit_code, 5) << remote.out << remote.err;
    EXPECT_NE(remote.err.find("--force"), std::string::npos) << remote.err;
    const auto list = c->Get("/v1/bans", bearer(admin));
    ASSERT_EQ(status_of(list), 200);
    EXPECT_TRUE(body_json(list)["bans"].empty()) << list->body;
    EXPECT_EQ(status_of(c->Get("/health")), 200);

    const auto forced = run({pbctl_path(), "bans", "add", "0.0.0.0/0", "--force"}, env);
    ASSERT_EQ(forced.exit_code, 0) << forced.err;
    EXPECT_EQ(status_of(c->Get("/v1/keys", bearer(admin))), 403);
    EXPECT_EQ(status_of(c->Get("/v1/auth", bearer(admin))), 403);
    EXPECT_EQ(status_of(c->Get("/health")), 200);
    EXPECT_EQ(status_of(c->Get("/ready")), 200);
    EXPECT_EQ(status_of(c->Get("/metrics")), 200);

    // The way back: pbctl on the database lifts the ban.
    const auto lifted = run({pbctl_path(), "--db", pbd.db(), "bans", "remove", "0.0.0.0/0"}, {});
    ASSERT_EQ(lifted.exit_code, 0) << lifted.err;
    EXPECT_EQ(status_of(c->Get("/v1/keys", bearer(admin))), 200);
}

}  // namespace
}  // namespace pb::test
