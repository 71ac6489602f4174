// pbd's WebSocket on /ws with a real Beast client: authentication, ops,
// subscriptions fed by pbctl on the database, resume, rooms, bad input.
#include <atomic>
#include <set>
#include <thread>

#include "tests/daemon/daemon_fixture.hpp"
#include "tests/support/ws_client.hpp"

namespace pb::test {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

std::string error_code_of(const json& answer) {
    return answer.is_object() && answer.contains("error")
               ? answer["error"].value("code", "")
               : std::string("<no error: ") + answer.dump() + ">";
}

// A key made by pbctl on the daemon's database; returns its text.
std::string pbctl_key(const RunningDaemon& pbd, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv{pbctl_path(), "keys", "create", "--owner", "ws-test", "-q"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto r = run(argv, {{"PB_DB", pbd.db()}});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    while (!r.out.empty() && r.out.back() == '\n') {
        r.out.pop_back();
    }
    return r.out;
}

std::string key_id(const std::string& key) {
    return key.substr(3, 12);
}

json authenticated_call(WsClient& ws, const std::string& key) {
    return ws.call("authenticate", {{"api_key", key}});
}

TEST(DaemonWs, AuthenticateByMessageThenOpsWithTheirPermissions) {
    TempDir dir;
    RunningDaemon pbd(dir);
    WsClient ws(pbd.port());
    ASSERT_TRUE(ws.ok());
    // Before authenticating, only authenticate is served.
    EXPECT_EQ(error_code_of(ws.call("keys.list")), "unauthenticated");
    EXPECT_EQ(error_code_of(ws.call("subscribe", {{"topics", {"keys"}}})), "unauthenticated");
    EXPECT_EQ(error_code_of(ws.call("authenticate", {{"api_key", "pb_nope"}})), "unauthenticated");
    const auto ok = authenticated_call(ws, pbd.bootstrap_key());
    ASSERT_EQ(ok["ok"], true) << ok.dump();
    EXPECT_EQ(ok["result"]["permissions"], json::array({"admin"}));

    const auto created = ws.call("keys.create", {{"owner", "svc"}, {"permissions", {"keys:read"}}});
    ASSERT_EQ(created["ok"], true) << created.dump();
    const auto reader = created["result"]["key"].get<std::string>();
    const auto listed = ws.call("keys.list");
    ASSERT_EQ(listed["ok"], true) << listed.dump();
    EXPECT_EQ(listed["result"]["keys"].size(), 2U);
    EXPECT_EQ(error_code_of(ws.call("keys.frobnicate")), "not_found");
    EXPECT_EQ(error_code_of(ws.call("keys.create", {{"owner", 12}, {"bogus", true}})),
              "invalid_argument");

    // Same permissions as HTTP: a keys:read key reads, does not write, and
    // subscribes to keys but not to bans.
    WsClient limited(pbd.port());
    ASSERT_EQ(authenticated_call(limited, reader)["ok"], true);
    EXPECT_EQ(limited.call("keys.list")["ok"], true);
    EXPECT_EQ(error_code_of(limited.call("keys.create", {{"owner", "x"}})), "permission_denied");
    EXPECT_EQ(limited.call("subscribe", {{"topics", {"keys"}}})["ok"], true);
    EXPECT_EQ(error_code_of(limited.call("subscribe", {{"topics", {"bans"}}})),
              "permission_denied");
    EXPECT_EQ(error_code_of(limited.call("subscribe", {{"topics", {"*"}}})), "permission_denied");
}

TEST(DaemonWs, AuthenticateOnUpgradeWithHeaders) {
    TempDir dir;
    RunningDaemon pbd(dir);
    const auto admin = pbd.bootstrap_key();
    WsClient bearer_ws(pbd.port(), {{"Authorization", "Bearer " + admin}});
    EXPECT_EQ(bearer_ws.call("keys.list")["ok"], true);
    WsClient header_ws(pbd.port(), {{"X-API-Key", admin}});
    EXPECT_EQ(header_ws.call("keys.list")["ok"], true);
    // A wrong credential on the upgrade is refused before any WebSocket.
    const auto [status, body] = WsClient::try_upgrade(pbd.port(), {{"X-API-Key", "pb_wrong"}});
    EXPECT_EQ(status, 401);
    EXPECT_EQ(json::parse(body, nullptr, false)["code"], "unauthenticated");
    // /ws without an upgrade says what it wants.
    EXPECT_EQ(status_of(pbd.client()->Get("/ws")), 426);
}

TEST(DaemonWs, JwtCredentialAndTokenRefresh) {
    TempDir dir;
    RunningDaemon pbd(dir);
    WsClient admin(pbd.port(), {{"Authorization", "Bearer " + pbd.bootstrap_key()}});
    const auto issued = admin.call(
        "tokens.issue",
        {{"sub", "user-7"}, {"refresh", true}, {"claims", {{"permissions", {"keys:read"}}}}});
    ASSERT_EQ(issued["ok"], true) << issued.dump();
    WsClient user(pbd.port());
    const auto auth = user.call("authenticate", {{"token", issued["result"]["access_token"]}});
    ASSERT_EQ(auth["ok"], true) << auth.dump();
    EXPECT_EQ(auth["result"]["actor"], "jwt:user-7");
    EXPECT_EQ(user.call("keys.list")["ok"], true);
    EXPECT_EQ(error_code_of(user.call("keys.create", {{"owner", "x"}})), "permission_denied");
    const auto refreshed =
        user.call("token_refresh", {{"refresh_token", issued["result"]["refresh_token"]}});
    ASSERT_EQ(refreshed["ok"], true) << refreshed.dump();
    EXPECT_TRUE(refreshed["result"].contains("access_token"));
    EXPECT_TRUE(refreshed["result"].contains("refresh_token"));
    // A fresh socket may open with a refresh token alone.
    WsClient fresh(pbd.port());
    const auto opened =
        fresh.call("token_refresh", {{"refresh_token", refreshed["result"]["refresh_token"]}});
    ASSERT_EQ(opened["ok"], true) << opened.dump();
    EXPECT_EQ(fresh.call("keys.list")["ok"], true);
    // A spent refresh token is refused (and, being reused, revokes its family).
    EXPECT_EQ(error_code_of(user.call("token_refresh",
                                      {{"refresh_token", issued["result"]["refresh_token"]}})),
              "unauthenticated");
}

TEST(DaemonWs, SubscriberReceivesAChangeMadeByPbctlOnTheDatabase) {
    TempDir dir;
    RunningDaemon pbd(dir);
    WsClient ws(pbd.port(), {{"X-API-Key", pbd.bootstrap_key()}});
    const auto sub = ws.call("subscribe", {{"topics", {"keys"}}});
    ASSERT_EQ(sub["ok"], true) << sub.dump();
    const auto key = pbctl_key(pbd);
    const auto event = ws.next_event(milliseconds(5000));
    ASSERT_TRUE(event.is_object()) << "no event within 5 s";
    EXPECT_EQ(event["event"], "key.created");
    EXPECT_EQ(event["topic"], "keys/" + key_id(key));
    EXPECT_GT(event["seq"].get<long long>(), sub["result"]["position"].get<long long>());
    EXPECT_FALSE(event.dump().find(key) != std::string::npos) << "the secret leaked";

    // An exact topic gets only its own events; revocation by pbctl arrives too.
    WsClient exact(pbd.port(), {{"X-API-Key", pbd.bootstrap_key()}});
    ASSERT_EQ(exact.call("subscribe", {{"topics", {"keys/" + key_id(key)}}})["ok"], true);
    pbctl_key(pbd);
    ASSERT_EQ(run({pbctl_path(), "keys", "revoke", key_id(key)}, {{"PB_DB", pbd.db()}}).exit_code,
              0);
    const auto revoked = exact.next_event(milliseconds(5000));
    ASSERT_TRUE(revoked.is_object());
    EXPECT_EQ(revoked["event"], "key.revoked");
    EXPECT_EQ(revoked["topic"], "keys/" + key_id(key));
    EXPECT_GE(metric(pbd, "pb_events_delivered_total"), 3);
}

TEST(DaemonWs, ResumeWithSinceAfterReconnectLosesAndRepeatsNothing) {
    TempDir dir;
    RunningDaemon pbd(dir);
    const auto admin = pbd.bootstrap_key();
    long long last = 0;
    {
        WsClient ws(pbd.port(), {{"X-API-Key", admin}});
        ASSERT_EQ(ws.call("subscribe", {{"topics", {"*"}}, {"since", 0}})["ok"], true);
        const auto first = ws.next_event();
        ASSERT_TRUE(first.is_object());
        last = first["seq"].get<long long>();
    }
    // While nobody listens, and then while the new subscription replays, keys
    // keep changing from another process.
    for (int i = 0; i < 3; ++i) {
        pbctl_key(pbd);
    }
    std::atomic<bool> stop{false};
    std::thread writer([&] {
        for (int i = 0; i < 15 && !stop; ++i) {
            pbctl_key(pbd);
        }
    });
    WsClient ws(pbd.port(), {{"X-API-Key", admin}});
    const auto sub = ws.call("subscribe", {{"topics", {"*"}}, {"since", last}});
    ASSERT_EQ(sub["ok"], true) << sub.dump();
    writer.join();
    const auto latest = pbctl_key(pbd);
    std::vector<long long> seqs;
    for (;;) {
        const auto e = ws.next_event(milliseconds(5000));
        ASSERT_TRUE(e.is_object())
            << "stopped after " << seqs.size()
            << " events: " << static_cast<int>(ws.last_failure.kind) << " "
            << ws.last_failure.close_code << " " << ws.last_failure.close_reason;
        seqs.push_back(e["seq"].get<long long>());
        if (e["topic"] == "keys/" + key_id(latest)) {
            break;
        }
    }
    // 3 + 15 + 1 keys, every seq once, in order, none missing.
    ASSERT_EQ(seqs.size(), 19U);
    for (std::size_t i = 0; i < seqs.size(); ++i) {
        EXPECT_EQ(seqs[i], last + 1 + static_cast<long long>(i));
    }
    EXPECT_FALSE(ws.next_event(milliseconds(300)).is_object()) << "an event came twice";
}

TEST(DaemonWs, SinceOlderThanRetentionIsAGap) {
    TempDir dir;
    // Three keys before pbd starts (and no bootstrap key after them); with a
    // 1 ms retention pbd prunes all but the newest.
    for (int i = 0; i < 3; ++i) {
        ASSERT_EQ(
            run({pbctl_path(), "keys", "create", "--owner", "x"}, {{"PB_DB", dir.file("pb.db")}})
                .exit_code,
            0);
    }
    RunningDaemon pbd(dir, {.env = {{"PB_EVENTS_RETENTION", "1ms"}}, .args = {"--no-bootstrap"}});
    for (int i = 0; i < 100 && metric(pbd, "pb_events_pruned_total") < 2; ++i) {
        std::this_thread::sleep_for(milliseconds(50));
    }
    ASSERT_GE(metric(pbd, "pb_events_pruned_total"), 2);
    const auto key = pbctl_key(pbd, {"--perm", "admin"});
    WsClient ws(pbd.port(), {{"X-API-Key", key}});
    const auto gap = ws.call("subscribe", {{"topics", {"keys"}}, {"since", 1}});
    EXPECT_EQ(error_code_of(gap), "not_found") << gap.dump();
    EXPECT_EQ(gap["error"]["details"]["reason"], "pruned");
    EXPECT_EQ(gap["error"]["details"]["oldest_seq"], 3);
    EXPECT_EQ(error_code_of(ws.call("subscribe", {{"topics", {"keys"}}, {"since", 99}})),
              "invalid_argument");
    // From the oldest kept on, nothing is missing.
    const auto ok = ws.call("subscribe", {{"topics", {"keys"}}, {"since", 2}});
    ASSERT_EQ(ok["ok"], true) << ok.dump();
    EXPECT_EQ(ws.next_event()["seq"], 3);
    EXPECT_EQ(ws.next_event()["seq"], 4);
}

TEST(DaemonWs, RoomMessagesBetweenTwoClients) {
    TempDir dir;
    RunningDaemon pbd(dir);
    const auto admin = pbd.bootstrap_key();
    WsClient a(pbd.port(), {{"X-API-Key", admin}});
    WsClient b(pbd.port(), {{"X-API-Key", admin}});
    EXPECT_EQ(error_code_of(a.call("room_message", {{"room", "ops"}, {"data", "hi"}})),
              "permission_denied");
    ASSERT_EQ(a.call("join_room", {{"room", "ops"}})["ok"], true);
    ASSERT_EQ(b.call("join_room", {{"room", "ops"}})["ok"], true);
    const auto joined = a.next_event();
    EXPECT_EQ(joined["event"], "room.joined");
    const auto info = b.call("get_room_info", {{"room", "ops"}});
    EXPECT_EQ(info["result"]["count"], 2);
    const auto sent =
        a.call("room_message", {{"room", "ops"}, {"data", {{"text", "deploy at 5"}}}});
    EXPECT_EQ(sent["result"]["delivered"], 1);
    const auto got = b.next_event();
    EXPECT_EQ(got["event"], "room.message");
    EXPECT_EQ(got["room"], "ops");
    EXPECT_EQ(got["data"]["text"], "deploy at 5");
    EXPECT_EQ(got["from"]["actor"], "key:" + key_id(admin));
    EXPECT_FALSE(a.next_event(milliseconds(200)).is_object()) << "the sender got its own message";
    ASSERT_EQ(b.call("leave_room", {{"room", "ops"}})["ok"], true);
    EXPECT_EQ(a.next_event()["event"], "room.left");
    EXPECT_EQ(a.call("get_room_info", {{"room", "ops"}})["result"]["count"], 1);
    EXPECT_EQ(error_code_of(b.call("leave_room", {{"room", "ops"}})), "not_found");
    EXPECT_EQ(error_code_of(b.call("join_room", {{"room", ""}})), "invalid_argument");
}

TEST(DaemonWs, BadInputGetsErrorsOrCloseCodesAndOthersAreStillServed) {
    TempDir dir;
    RunningDaemon pbd(dir, {.env = {{"PB_WS_MAX_MESSAGE", "4096"}}});
    const auto admin = pbd.bootstrap_key();
    WsClient bystander(pbd.port(), {{"X-API-Key", admin}});
    const auto expect_close = [&](const std::function<void(WsClient&)>& send, int code) {
        WsClient ws(pbd.port(), {{"X-API-Key", admin}});
        send(ws);
        const auto m = ws.wait_closed();
        EXPECT_EQ(m.kind, WsMessage::Kind::closed);
        EXPECT_EQ(m.close_code, code) << m.close_reason;
    };
    expect_close([](WsClient& ws) { ws.send_text("{not json"); }, 1007);
    expect_close([](WsClient& ws) { ws.send_binary("\x01\x02"); }, 1003);
    expect_close([](WsClient& ws) { ws.send_text(std::string(10000, ' ')); }, 1009);
    // A reserved opcode (0x3), masked, empty.
    expect_close([](WsClient& ws) { ws.send_raw(std::string("\x83\x80\x01\x02\x03\x04", 6)); },
                 1002);
    // An unmasked client frame.
    expect_close([](WsClient& ws) { ws.send_raw(std::string("\x81\x02{}", 4)); }, 1002);
    // Invalid UTF-8 in a text frame.
    expect_close([](WsClient& ws) { ws.send_text("\"\xff\xfe\""); }, 1007);

    // JSON that is not a request is answered, and the socket stays open.
    WsClient ws(pbd.port(), {{"X-API-Key", admin}});
    ws.send_text(R"([1,2,3])");
    const auto m = ws.read();
    ASSERT_EQ(m.kind, WsMessage::Kind::text);
    EXPECT_EQ(m.json()["error"]["code"], "invalid_argument");
    ws.send_text(R"({"id":"x","op":"keys.list","args":[1]})");
    EXPECT_EQ(ws.read().json()["error"]["code"], "invalid_argument");
    EXPECT_EQ(ws.call("keys.list")["ok"], true);

    EXPECT_EQ(bystander.call("keys.list")["ok"], true);
    EXPECT_EQ(status_of(pbd.client()->Get("/ready")), 200);
    EXPECT_GE(metric(pbd, "pb_ws_protocol_closes_total"), 6);
}

TEST(DaemonWs, UnauthenticatedSocketsAreClosedAfterTheTimeout) {
    TempDir dir;
    RunningDaemon pbd(dir, {.env = {{"PB_WS_AUTH_TIMEOUT", "300ms"}}});
    WsClient idle(pbd.port());
    const auto m = idle.wait_closed();
    EXPECT_EQ(m.kind, WsMessage::Kind::closed);
    EXPECT_EQ(m.close_code, 1008);
    // Authenticated in time: stays open past the timeout.
    WsClient quick(pbd.port());
    ASSERT_EQ(authenticated_call(quick, pbd.bootstrap_key())["ok"], true);
    std::this_thread::sleep_for(milliseconds(500));
    EXPECT_EQ(quick.call("keys.list")["ok"], true);
    // Three failed attempts close the socket.
    WsClient guesser(pbd.port());
    for (int i = 0; i < 3; ++i) {
        guesser.send_text(
            json{{"id", i}, {"op", "authenticate"}, {"args", {{"api_key", "pb_x"}}}}.dump());
    }
    const auto closed = guesser.wait_closed();
    EXPECT_EQ(closed.close_code, 1008);
}

TEST(DaemonWs, ASlowClientIsDroppedAndTheOthersGoOn) {
    TempDir dir;
    RunningDaemon pbd(dir, {.env = {{"PB_WS_MAX_QUEUE", "65536"}}});
    const auto admin = pbd.bootstrap_key();
    WsClient slow(pbd.port(), {{"X-API-Key", admin}});
    WsClient sender(pbd.port(), {{"X-API-Key", admin}});
    ASSERT_EQ(slow.call("join_room", {{"room", "firehose"}})["ok"], true);
    ASSERT_EQ(sender.call("join_room", {{"room", "firehose"}})["ok"], true);
    // `slow` never reads: the kernel's buffers fill, then pbd's queue, then
    // pbd drops it, and its memory for that client stays bounded.
    const std::string chunk(200'000, 'x');
    int sent = 0;
    for (; sent < 500 && metric(pbd, "pb_ws_dropped_slow_total") < 1; ++sent) {
        const auto r = sender.call("room_message", {{"room", "firehose"}, {"data", chunk}});
        ASSERT_EQ(r["ok"], true) << r.dump().substr(0, 300);
    }
    EXPECT_EQ(metric(pbd, "pb_ws_dropped_slow_total"), 1) << "after " << sent << " messages";
    // The room forgets the dropped member; the sender is served as before.
    long long members = 2;
    for (int i = 0; i < 100 && members != 1; ++i) {
        members = sender.call("get_room_info", {{"room", "firehose"}})["result"]["count"];
        std::this_thread::sleep_for(milliseconds(20));
    }
    EXPECT_EQ(members, 1);
    EXPECT_EQ(sender.call("keys.list")["ok"], true);
    EXPECT_EQ(slow.wait_closed(std::chrono::seconds(20)).kind, WsMessage::Kind::closed);
}

TEST(DaemonWs, KeepAlivePingsHoldAReadingClientAndDropASilentOne) {
    TempDir dir;
    RunningDaemon pbd(dir, {.env = {{"PB_WS_IDLE_TIMEOUT", "400ms"}}});
    const auto admin = pbd.bootstrap_key();
    WsClient reading(pbd.port(), {{"X-API-Key", admin}});
    WsClient silent(pbd.port(), {{"X-API-Key", admin}});
    // A client that keeps a read pending answers pbd's pings (Beast does).
    EXPECT_FALSE(reading.next_event(milliseconds(1500)).is_object());
    EXPECT_EQ(reading.call("keys.list")["ok"], true);
    // One that reads nothing for that long answered none, and was closed.
    EXPECT_EQ(silent.wait_closed(milliseconds(2000)).kind, WsMessage::Kind::closed);
}

TEST(DaemonWs, SigtermClosesSocketsWithGoingAway) {
    TempDir dir;
    RunningDaemon pbd(dir);
    WsClient ws(pbd.port(), {{"X-API-Key", pbd.bootstrap_key()}});
    ASSERT_EQ(ws.call("subscribe", {{"topics", {"keys"}}})["ok"], true);
    ASSERT_EQ(ws.call("join_room", {{"room", "r"}})["ok"], true);
    // The client answers the close while pbd stops, as a live client would.
    WsMessage m;
    std::thread reader([&] { m = ws.wait_closed(); });
    const auto rc = pbd.process().signal_and_wait(SIGTERM, std::chrono::seconds(10));
    reader.join();
    ASSERT_TRUE(rc.has_value()) << "pbd did not stop";
    EXPECT_EQ(*rc, 0) << pbd.err();
    EXPECT_EQ(m.kind, WsMessage::Kind::closed);
    EXPECT_EQ(m.close_code, 1001);
}

TEST(DaemonWs, MetricsCountConnectionsAndMessages) {
    TempDir dir;
    RunningDaemon pbd(dir);
    WsClient ws(pbd.port(), {{"X-API-Key", pbd.bootstrap_key()}});
    ASSERT_EQ(ws.call("keys.list")["ok"], true);
    EXPECT_EQ(metric(pbd, "pb_ws_connections"), 1);
    EXPECT_GE(metric(pbd, "pb_ws_messages_received_total"), 1);
    EXPECT_GE(metric(pbd, "pb_ws_messages_sent_total"), 1);
    ws.close();
    long long open = 1;
    for (int i = 0; i < 100 && open != 0; ++i) {
        open = metric(pbd, "pb_ws_connections");
        std::this_thread::sleep_for(milliseconds(20));
    }
    EXPECT_EQ(open, 0);
}

}  // namespace
}  // namespace pb::test
