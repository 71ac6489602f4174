#include <gtest/gtest.h>

#include "tests/daemon/daemon_fixture.hpp"

namespace pb::test {
namespace {

constexpr const char* k_bootstrap_line = "bootstrap admin API key";

// Pins: the first start on an empty database prints one admin key on stdout,
// the key works as admin, and it never reaches the log (stderr).
TEST(DaemonBootstrap, PrintsAnAdminKeyOnceOnFirstStart) {
    TempDir dir;
    std::string key;
    {
        RunningDaemon pbd(dir);
        key = pbd.bootstrap_key();
        ASSERT_FALSE(key.empty()) << pbd.out();
        const auto out = pbd.out();
        EXPECT_EQ(out.find(k_bootstrap_line), out.rfind(k_bootstrap_line)) << "printed twice";

        auto client = pbd.client();
        const auto list = client->Get("/v1/keys", bearer(key));
        ASSERT_EQ(status_of(list), 200);
        const auto keys = body_json(list)["keys"];
        ASSERT_EQ(keys.size(), 1u);
        EXPECT_EQ(keys[0]["owner"], "bootstrap");
        EXPECT_EQ(keys[0]["permissions"], nlohmann::json::array({"admin"}));
        // Admin may do what needs other permissions too.
        const auto created =
            client->Post("/v1/keys", bearer(key), R"({"owner":"ci"})", "application/json");
        EXPECT_EQ(status_of(created), 201);
        ASSERT_EQ(pbd.process().signal_and_wait(SIGTERM, std::chrono::seconds(5)), 0);
        EXPECT_EQ(pbd.err().find(key), std::string::npos) << "the key leaked into the log";
        EXPECT_EQ(pbd.err().find(key.substr(16)), std::string::npos) << "its secret leaked";
    }
    // Pins: a second start on the same database (an admin key exists) prints nothing.
    RunningDaemon again(dir);
    EXPECT_EQ(again.out().find(k_bootstrap_line), std::string::npos) << again.out();
    EXPECT_EQ(status_of(again.client()->Get("/v1/keys", bearer(key))), 200);
}

// Pins: --no-bootstrap creates no key even on an empty database.
TEST(DaemonBootstrap, NoBootstrapFlagCreatesNoKey) {
    TempDir dir;
    RunningDaemon pbd(dir, {.args = {"--no-bootstrap"}});
    EXPECT_EQ(pbd.out().find(k_bootstrap_line), std::string::npos) << pbd.out();
    const auto local = run({pbctl_path(), "--db", pbd.db(), "-o", "json", "keys", "list"}, {});
    ASSERT_EQ(local.exit_code, 0) << local.err;
    EXPECT_TRUE(nlohmann::json::parse(local.out)["keys"].empty());
}

// Pins: PB_BOOTSTRAP=false in the environment works like the flag.
TEST(DaemonBootstrap, EnvironmentCanTurnBootstrapOff) {
    TempDir dir;
    RunningDaemon pbd(dir, {.env = {{"PB_BOOTSTRAP", "false"}}});
    EXPECT_EQ(pbd.out().find(k_bootstrap_line), std::string::npos) << pbd.out();
}

}  // namespace
}  // namespace pb::test
