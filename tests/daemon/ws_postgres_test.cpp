// Events across daemons on one PostgreSQL database: a change made through
// daemon A, or by pbctl on the database, reaches a WebSocket subscriber of
// daemon B within a second (NOTIFY wakes B's tail), in seq order.
#include <chrono>

#include <gtest/gtest.h>

#include "tests/daemon/daemon_fixture.hpp"
#include "tests/support/test_db.hpp"
#include "tests/support/ws_client.hpp"

namespace pb::test {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

TEST(DaemonsOnPostgresWs, AChangeThroughOneDaemonReachesASubscriberOfTheOther) {
    TempDir dir;
    TestDb db(Backend::postgres);
    const DaemonOptions options{.env = {{"PB_MASTER_KEY_FILE", dir.file("master.key")}},
                                .db = db.url()};
    RunningDaemon a(dir, options);
    RunningDaemon b(dir, options);
    const auto admin = a.bootstrap_key();
    ASSERT_FALSE(admin.empty()) << a.err();

    WsClient ws(b.port(), {{"X-API-Key", admin}});
    const auto sub = ws.call("subscribe", {{"topics", {"states"}}});
    ASSERT_EQ(sub["ok"], true) << sub.dump();

    // Through daemon A's HTTP API.
    const auto res = a.client()->Post(
        "/v1/states", bearer(admin),
        json{{"id", "shared"}, {"type", "feature"}, {"data", {{"on", false}}}}.dump(),
        "application/json");
    ASSERT_EQ(status_of(res), 201) << (res ? res->body : "no answer");
    const auto started = std::chrono::steady_clock::now();
    const auto created = ws.next_event(milliseconds(1000));
    ASSERT_TRUE(created.is_object()) << "daemon B's subscriber heard nothing within 1 s";
    EXPECT_LT(std::chrono::steady_clock::now() - started, milliseconds(1000));
    EXPECT_EQ(created["event"], "state.created");
    EXPECT_EQ(created["topic"], "states/shared");

    // By pbctl, straight on the database.
    const auto r = run({pbctl_path(), "states", "update", "shared", "--data", R"({"on":true})"},
                       {{"PB_DB", db.url()}, {"PB_MASTER_KEY_FILE", dir.file("master.key")}});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto updated = ws.next_event(milliseconds(1000));
    ASSERT_TRUE(updated.is_object()) << "pbctl's change did not reach daemon B within 1 s";
    EXPECT_EQ(updated["event"], "state.updated");
    EXPECT_EQ(updated["data"]["data"]["on"], true);
    EXPECT_GT(updated["seq"].get<long long>(), created["seq"].get<long long>());
}

}  // namespace
}  // namespace pb::test
