// `pbctl events tail --server` and `pbctl states watch --server`: the
// streaming commands over pbd's WebSocket.
#include <thread>

#include "tests/daemon/daemon_fixture.hpp"

namespace pb::test {
namespace {

using nlohmann::json;

TEST(DaemonWsCli, EventsTailThroughPbdSeesChangesOnTheDatabase) {
    TempDir dir;
    RunningDaemon pbd(dir);
    const std::map<std::string, std::string> remote{{"PB_SERVER", pbd.url()},
                                                    {"PB_API_KEY", pbd.bootstrap_key()}};
    Process tail(
        {pbctl_path(), "events", "tail", "--topic", "keys", "--count", "2", "--timeout", "20s"},
        remote, dir.file("tail.out"), dir.file("tail.err"));
    // Wait until pbd has the subscription, so the keys below are live events.
    for (int i = 0; i < 100; ++i) {
        const auto m = pbd.client()->Get("/metrics");
        if (m && m->body.find("\npb_ws_subscribed_connections 1") != std::string::npos) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::vector<std::string> ids;
    for (int i = 0; i < 2; ++i) {
        const auto r = run({pbctl_path(), "keys", "create", "--owner", "cli", "-o", "json"},
                           {{"PB_DB", pbd.db()}});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        ids.push_back(json::parse(r.out)["id"].get<std::string>());
    }
    for (int i = 0; i < 200 && tail.running(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_FALSE(tail.running());
    const auto out = read_file(dir.file("tail.out"));
    const auto nl = out.find('\n');
    ASSERT_NE(nl, std::string::npos) << out << read_file(dir.file("tail.err"));
    EXPECT_EQ(json::parse(out.substr(0, nl))["topic"], "keys/" + ids[0]);
    EXPECT_EQ(json::parse(out.substr(nl + 1))["topic"], "keys/" + ids[1]);

    // --since replays through pbd exactly as the local outbox does.
    const auto local = run({pbctl_path(), "events", "tail", "--since", "0", "--count", "3"},
                           {{"PB_DB", pbd.db()}});
    auto with_server = remote;
    const auto through =
        run({pbctl_path(), "events", "tail", "--since", "0", "--count", "3"}, with_server);
    ASSERT_EQ(through.exit_code, 0) << through.err;
    EXPECT_EQ(through.out, local.out);

    // pbd's refusals come back as pbctl errors.
    auto wrong = remote;
    wrong["PB_API_KEY"] = "pb_wrong";
    const auto refused = run({pbctl_path(), "events", "tail", "--timeout", "1s"}, wrong);
    EXPECT_EQ(refused.exit_code, 3) << refused.err;
    const auto watch = run({pbctl_path(), "states", "watch", "s1", "--timeout", "300ms"}, remote);
    EXPECT_EQ(watch.exit_code, 0) << watch.err;
    EXPECT_EQ(watch.out, "");
}

}  // namespace
}  // namespace pb::test
