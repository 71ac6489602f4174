// pbd's WebSocket runs one socket's requests one at a time and in order
// (daemon/ws/op_pool's strands): a burst sent without waiting is answered in
// the order it was sent, writes and reads alike, through the real pbd.
#include "tests/daemon/daemon_fixture.hpp"
#include "tests/support/ws_client.hpp"

namespace pb::test {
namespace {

using nlohmann::json;

TEST(DaemonWsOrder, ABurstOfRequestsIsAnsweredInTheOrderSent) {
    TempDir dir;
    RunningDaemon pbd(dir);
    WsClient ws(pbd.port());
    ASSERT_TRUE(ws.ok());
    ASSERT_EQ(ws.call("authenticate", {{"api_key", pbd.bootstrap_key()}})["ok"], true);
    constexpr int k_requests = 30;
    for (int id = 1; id <= k_requests; ++id) {
        // A write, then a read that must see it: order within a socket holds.
        const json request = id % 2 == 1
                                 ? json{{"id", id},
                                        {"op", "keys.create"},
                                        {"args", {{"owner", "burst-" + std::to_string(id)}}}}
                                 : json{{"id", id}, {"op", "keys.list"}, {"args", json::object()}};
        ws.send_text(request.dump());
    }
    for (int id = 1; id <= k_requests; ++id) {
        const auto message = ws.read(std::chrono::seconds(30));
        ASSERT_EQ(message.kind, WsMessage::Kind::text) << "answer " << id;
        const auto answer = message.json();
        ASSERT_EQ(answer["id"], id) << answer.dump();
        ASSERT_EQ(answer["ok"], true) << answer.dump();
        if (id % 2 == 0) {
            // The bootstrap key and the id / 2 keys created before this read.
            EXPECT_EQ(answer["result"]["keys"].size(), static_cast<std::size_t>(1 + id / 2));
        }
    }
}

}  // namespace
}  // namespace pb::test
