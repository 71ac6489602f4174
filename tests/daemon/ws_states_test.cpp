// States and the WebSocket together, as the issue's example has it: a client
// calls states ops over /ws, subscribes to a state's topic, and receives the
// changes made through pbd and by pbctl directly on the database, in order.
#include "tests/daemon/daemon_fixture.hpp"
#include "tests/support/ws_client.hpp"

namespace pb::test {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

TEST(DaemonWsStates, StateChangesFromPbctlAndFromOpsReachTheSubscriber) {
    TempDir dir;
    RunningDaemon pbd(dir);
    WsClient ws(pbd.port(), {{"X-API-Key", pbd.bootstrap_key()}});
    const auto created =
        ws.call("states.register",
                {{"id", "user_123_session"}, {"type", "session"}, {"data", {{"user_id", "123"}}}});
    ASSERT_EQ(created["ok"], true) << created.dump();
    const auto got = ws.call("states.get", {{"id", "user_123_session"}});
    ASSERT_EQ(got["ok"], true) << got.dump();
    EXPECT_EQ(got["result"]["data"]["user_id"], "123");

    const auto sub = ws.call("subscribe", {{"topics", {"states/user_123_session"}}});
    ASSERT_EQ(sub["ok"], true) << sub.dump();
    // Without "since" a subscription starts at pbd's delivery position, which
    // may lag the database by a tail interval, so the register's own event can
    // still arrive first: wait for the event of each step by its type.
    const auto next_of = [&](const std::string& type) {
        for (int i = 0; i < 10; ++i) {
            auto e = ws.next_event(milliseconds(5000));
            if (!e.is_object() || e["event"] == type) {
                return e;
            }
        }
        return json();
    };

    // pbctl on the database, not through pbd.
    const auto r = run({pbctl_path(), "states", "update", "user_123_session", "--data",
                        R"({"last_activity":"now"})"},
                       {{"PB_DB", pbd.db()}});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto updated = next_of("state.updated");
    ASSERT_TRUE(updated.is_object()) << "no event within 5 s";
    EXPECT_EQ(updated["event"], "state.updated");
    EXPECT_EQ(updated["topic"], "states/user_123_session");
    EXPECT_EQ(updated["data"]["data"]["last_activity"], "now");
    EXPECT_EQ(updated["data"]["data"]["user_id"], "123");

    // An op over the same socket: its event follows, with a higher seq.
    const auto suspended =
        ws.call("states.transition", {{"id", "user_123_session"}, {"transition", "suspend"}});
    ASSERT_EQ(suspended["ok"], true) << suspended.dump();
    const auto event = next_of("state.suspended");
    ASSERT_TRUE(event.is_object());
    EXPECT_EQ(event["event"], "state.suspended");
    EXPECT_GT(event["seq"].get<long long>(), updated["seq"].get<long long>());

    // An illegal transition is an error frame; nothing is published.
    const auto illegal =
        ws.call("states.transition", {{"id", "user_123_session"}, {"transition", "suspend"}});
    EXPECT_EQ(illegal["ok"], false);
    EXPECT_EQ(illegal["error"]["code"], "conflict");
    EXPECT_FALSE(ws.next_event(milliseconds(300)).is_object());
}

}  // namespace
}  // namespace pb::test
