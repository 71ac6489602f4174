// states.update with a transition: the data and the status change in one
// change (one version, one history row, one event named for the transition),
// the same through HTTP, WebSocket, pbctl --server and pbctl on the database;
// a refused pair changes neither.
#include "tests/daemon/daemon_fixture.hpp"
#include "tests/support/ws_client.hpp"

namespace pb::test {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

TEST(DaemonStatesUpdate, DataAndTransitionAreOneChangeOnEverySurface) {
    TempDir dir;
    RunningDaemon pbd(dir);
    const auto admin = pbd.bootstrap_key();
    auto http = pbd.client();
    const auto created =
        http->Post("/v1/states", bearer(admin), R"({"id":"s","type":"session","data":{"step":0}})",
                   "application/json");
    ASSERT_EQ(status_of(created), 201) << created->body;

    WsClient ws(pbd.port(), {{"X-API-Key", admin}});
    ASSERT_EQ(ws.call("subscribe", {{"topics", {"states/s"}}, {"since", 0}})["ok"], true);

    const auto patched =
        http->Patch("/v1/states/s", bearer(admin), R"({"data":{"step":1},"transition":"suspend"})",
                    "application/json");
    ASSERT_EQ(status_of(patched), 200) << patched->body;
    EXPECT_EQ(body_json(patched)["status"], "suspended");
    EXPECT_EQ(body_json(patched)["version"], 2);
    EXPECT_EQ(body_json(patched)["data"]["step"], 1);

    const auto resumed =
        ws.call("states.update", {{"id", "s"}, {"data", {{"step", 2}}}, {"transition", "resume"}});
    ASSERT_EQ(resumed["ok"], true) << resumed.dump();
    EXPECT_EQ(resumed["result"]["status"], "active");
    EXPECT_EQ(resumed["result"]["version"], 3);

    const auto remote = run({pbctl_path(), "--server", pbd.url(), "states", "update", "s", "--data",
                             R"({"step":3})", "--transition", "deactivate", "-o", "json"},
                            {{"PB_API_KEY", admin}});
    ASSERT_EQ(remote.exit_code, 0) << remote.err;
    EXPECT_EQ(json::parse(remote.out)["status"], "inactive");

    const auto local = run({pbctl_path(), "states", "update", "s", "--data", R"({"step":4})",
                            "--transition", "activate", "-q"},
                           {{"PB_DB", pbd.db()}});
    ASSERT_EQ(local.exit_code, 0) << local.err;
    EXPECT_EQ(local.out, "5\n");  // one version per change, not two

    // One event per change, each carrying the new data and the new status.
    std::vector<std::string> types;
    for (int i = 0; i < 5; ++i) {
        const auto e = ws.next_event(milliseconds(5000));
        ASSERT_TRUE(e.is_object()) << "event " << i << " missing";
        types.push_back(e["event"]);
        EXPECT_EQ(e["data"]["data"]["step"], i) << e.dump();
        EXPECT_EQ(e["data"]["version"], i + 1) << e.dump();
    }
    EXPECT_EQ(types, (std::vector<std::string>{"state.created", "state.suspended", "state.resumed",
                                               "state.deactivated", "state.activated"}));
    const auto history = http->Get("/v1/states/s/history", bearer(admin));
    ASSERT_EQ(body_json(history)["history"].size(), 5U);
    EXPECT_EQ(body_json(history)["history"][0]["transition"], "activate");
    EXPECT_EQ(body_json(history)["history"][0]["data"]["step"], 4);

    // Refused pairs change nothing: an illegal move, a word that is not a move.
    const auto illegal =
        http->Patch("/v1/states/s", bearer(admin), R"({"data":{"step":9},"transition":"resume"})",
                    "application/json");
    EXPECT_EQ(status_of(illegal), 409);
    EXPECT_EQ(body_json(illegal)["reason"], "illegal_transition");
    const auto not_a_move =
        http->Patch("/v1/states/s", bearer(admin), R"({"data":{"step":9},"transition":"update"})",
                    "application/json");
    EXPECT_EQ(status_of(not_a_move), 400);
    const auto after = body_json(http->Get("/v1/states/s", bearer(admin)));
    EXPECT_EQ(after["version"], 5);
    EXPECT_EQ(after["data"]["step"], 4);
    EXPECT_FALSE(ws.next_event(milliseconds(300)).is_object());
}

}  // namespace
}  // namespace pb::test
