// The WebSocket-only ops as entries of the op table (ops::ServedOn::websocket),
// through a real pbd: they are in the table and nowhere but on /ws (no route,
// no pbctl command, not in /openapi.json); the session checks the table's
// permission and validates with validate_args; an unknown op is answered as
// before; their examples run over a real socket and every answer and pushed
// frame matches /asyncapi.json, which validates with @asyncapi/parser from
// npm; subscribe with since on a followed topic replays what was not sent.
#include <algorithm>
#include <fstream>
#include <set>

#include <gtest/gtest.h>

#include "common/runtime/op_table.hpp"
#include "tests/daemon/daemon_fixture.hpp"
#include "tests/support/ws_client.hpp"

namespace pb::test {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

const std::vector<std::string> k_websocket_ops{"authenticate", "token_refresh", "subscribe",
                                               "unsubscribe",  "join_room",     "leave_room",
                                               "room_message", "get_room_info"};

std::string code_of(const json& answer) {
    return answer.is_object() && answer.contains("error")
               ? answer["error"].value("code", "")
               : std::string("<no error: ") + answer.dump().substr(0, 300) + ">";
}

std::string build_dir() {
    return std::string(PB_BIN_DIR) + "/..";
}

void write(const std::string& path, const json& j) {
    std::ofstream(path) << j.dump();
}

json served_document(const RunningDaemon& pbd, const std::string& path) {
    const auto res = pbd.client()->Get(path);
    EXPECT_EQ(status_of(res), 200) << (res ? res->body : "");
    return body_json(res);
}

// Pins: each WebSocket op is in the table, marked so, without a route; pbd's
// routes, /openapi.json, pbctl's commands, its completions and pbctl(1) have
// none of them; pbd(8) lists each with its params and an example.
TEST(WsOpsTable, WebSocketOpsAreInTheTableAndOnlyOnTheSocket) {
    TempDir dir;
    const auto& table = runtime::op_table();
    std::size_t routed = 0;
    for (const auto& op : table.all()) {
        routed += op.websocket_only() ? 0 : 1;
    }
    const auto routes = run({pbd_path(), "--routes"}, {});
    ASSERT_EQ(routes.exit_code, 0) << routes.err;
    // The table's routed ops and pbd's own ten (/ready, /metrics, /v1/auth,
    // /openapi.json, /asyncapi.json, /ws, and CrowdSec's /v1/decisions and
    // /v1/decisions/stream for GET and HEAD): nothing for the WebSocket ops.
    EXPECT_EQ(static_cast<std::size_t>(std::count(routes.out.begin(), routes.out.end(), '\n')),
              routed + 10)
        << routes.out;
    const auto env = std::map<std::string, std::string>{{"PB_DB", dir.file("pbctl.db")}};
    const auto openapi = json::parse(run({pbctl_path(), "openapi"}, env).out);
    std::set<std::string> operation_ids;
    for (const auto& [path, item] : openapi["paths"].items()) {
        for (const auto& [method, o] : item.items()) {
            operation_ids.insert(o["operationId"].get<std::string>());
        }
    }
    const auto bash = run({pbctl_path(), "completion", "bash"}, env).out;
    const auto pbctl_man = run({pbctl_path(), "__man", "pbctl.1"}, env).out;
    const auto pbd_man = run({pbd_path(), "--man"}, {}).out;
    ASSERT_NE(pbd_man.find(".SH WEBSOCKET"), std::string::npos);
    for (const auto& name : k_websocket_ops) {
        SCOPED_TRACE(name);
        const auto* op = table.find(name);
        ASSERT_NE(op, nullptr);
        EXPECT_TRUE(op->websocket_only());
        EXPECT_TRUE(op->route.path.empty());
        EXPECT_FALSE(op->examples.empty());
        EXPECT_FALSE(op->response.is_null());
        EXPECT_FALSE(operation_ids.contains(name));
        // Not a command: pbctl refuses it as a usage error, names it nowhere.
        EXPECT_EQ(run({pbctl_path(), name, "--help"}, env).exit_code, 2);
        EXPECT_EQ(bash.find(name), std::string::npos);
        EXPECT_EQ(pbctl_man.find(".SS \\fBpbctl " + name), std::string::npos);
        // pbd(8): its entry, each param, its example as a message.
        EXPECT_NE(pbd_man.find(".TP\n\\fB" + name + "\\fR\n"), std::string::npos);
        for (const auto& p : op->params) {
            EXPECT_NE(pbd_man.find("\\fB" + p.name + "\\fR ("), std::string::npos) << p.name;
        }
        EXPECT_NE(pbd_man.find("\"op\":\"" + name + "\""), std::string::npos);
    }
}

// Pins: the session refuses a WebSocket op its caller lacks the table's
// permission for (rooms:write, rooms:read), naming that permission, and
// spends no use on the refusal; before authenticating only the ops that
// present a credential are served.
TEST(WsOpsTable, TheSessionChecksTheTablesPermission) {
    TempDir dir;
    RunningDaemon pbd(dir);
    const auto admin = pbd.bootstrap_key();
    const auto& table = runtime::op_table();
    const auto reader = created_key(pbd, admin, {{"owner", "r"}, {"permissions", {"keys:read"}}});
    const auto writer = created_key(
        pbd, admin, {{"owner", "w"}, {"permissions", {"rooms:write"}}, {"remaining", 3}});

    WsClient anonymous(pbd.port());
    EXPECT_EQ(code_of(anonymous.call("join_room", {{"room", "ops"}})), "unauthenticated");
    EXPECT_EQ(code_of(anonymous.call("authenticate", {{"api_key", "pb_nope"}})), "unauthenticated");

    WsClient ws(pbd.port(), {{"X-API-Key", reader["key"].get<std::string>()}});
    for (const auto& [name, args] :
         std::vector<std::pair<std::string, json>>{{"join_room", {{"room", "ops"}}},
                                                   {"leave_room", {{"room", "ops"}}},
                                                   {"room_message", {{"room", "ops"}, {"data", 1}}},
                                                   {"get_room_info", {{"room", "ops"}}}}) {
        SCOPED_TRACE(name);
        const auto needed = table.find(name)->permission;
        ASSERT_TRUE(needed == "rooms:write" || needed == "rooms:read") << needed;
        const auto refused = ws.call(name, args);
        EXPECT_EQ(code_of(refused), "permission_denied");
        EXPECT_EQ(refused["error"]["details"]["permission"], needed);
        EXPECT_NE(refused["error"]["message"].get<std::string>().find(needed), std::string::npos);
    }
    // Ops that need no permission run (subscribe's topics have their own).
    EXPECT_EQ(ws.call("subscribe", {{"topics", {"keys"}}})["ok"], true);
    EXPECT_EQ(code_of(ws.call("subscribe", {{"topics", {"bans"}}})), "permission_denied");

    // rooms:write joins, but rooms:read is another permission; the refusal
    // spends none of the key's three uses.
    WsClient member(pbd.port(), {{"X-API-Key", writer["key"].get<std::string>()}});
    EXPECT_EQ(code_of(member.call("get_room_info", {{"room", "ops"}})), "permission_denied");
    EXPECT_EQ(member.call("join_room", {{"room", "ops"}})["ok"], true);
    EXPECT_EQ(member.call("room_message", {{"room", "ops"}, {"data", "hi"}})["ok"], true);
    const auto shown =
        pbd.client()->Get("/v1/keys/" + writer["id"].get<std::string>(), bearer(admin));
    EXPECT_EQ(body_json(shown)["remaining"], 1) << shown->body;
}

// Pins: an unknown op gets the error it got before the ops moved into the
// table (not_found naming it; unauthenticated first on a socket without a
// credential), and a WebSocket op's args go through validate_args: unknown
// and mistyped arguments are invalid_argument naming the param.
TEST(WsOpsTable, UnknownOpsAndBadArgumentsAreAnsweredAsEveryOp) {
    TempDir dir;
    RunningDaemon pbd(dir);
    WsClient ws(pbd.port());
    const auto before = ws.call("keys.lst");
    EXPECT_EQ(code_of(before), "unauthenticated");
    EXPECT_EQ(before["error"]["details"]["reason"], "missing");
    ASSERT_EQ(ws.call("authenticate", {{"api_key", pbd.bootstrap_key()}})["ok"], true);
    const auto unknown = ws.call("keys.lst");
    EXPECT_EQ(code_of(unknown), "not_found");
    EXPECT_EQ(unknown["error"]["message"], "unknown op \"keys.lst\"");
    EXPECT_EQ(unknown["error"]["details"], json({{"op", "keys.lst"}}));

    const auto extra = ws.call("join_room", {{"room", "ops"}, {"colour", "red"}});
    EXPECT_EQ(code_of(extra), "invalid_argument");
    EXPECT_EQ(extra["error"]["details"]["param"], "colour");
    const auto since = ws.call("subscribe", {{"topics", {"keys"}}, {"since", "x"}});
    EXPECT_EQ(code_of(since), "invalid_argument");
    EXPECT_EQ(since["error"]["details"]["param"], "since");
    EXPECT_EQ(ws.call("room_message", {{"room", "ops"}})["error"]["details"]["param"], "data");
    const auto secret = ws.call("authenticate", {{"api_key", 12345}});
    EXPECT_EQ(code_of(secret), "invalid_argument");
    EXPECT_EQ(secret.dump().find("12345"), std::string::npos) << "a credential was echoed";
}

// Pins: each WebSocket op's examples, run in order over real sockets, answer
// ok; each answer and each frame pbd pushed (events, room notices and
// messages) matches its message in /asyncapi.json (python3-jsonschema), as
// does every example of the document.
TEST(WsOpsTable, ExamplesRunOverASocketAndMatchTheDocument) {
    TempDir dir;
    RunningDaemon pbd(dir);
    const auto admin = pbd.bootstrap_key();
    const auto& table = runtime::op_table();
    WsClient ws(pbd.port());
    WsClient peer(pbd.port(), {{"X-API-Key", admin}});
    json frames = json::array();
    const auto run_examples = [&](const std::string& name, const json& subst) {
        for (const auto& ex : table.find(name)->examples) {
            SCOPED_TRACE(name + ": " + ex.summary);
            json args = ex.args;
            for (const auto& [k, v] : subst.items()) {
                if (args.contains(k)) {
                    args[k] = v;
                }
            }
            const auto answer = ws.call(name, args);
            EXPECT_EQ(answer["ok"], true) << answer.dump();
            frames.push_back({{"message", name + ".result"}, {"frame", answer}});
        }
    };
    run_examples("authenticate", {{"api_key", admin}});
    ASSERT_EQ(ws.call("states.register", {{"id", "user_1"}, {"type", "user"}})["ok"], true);
    const auto issued = ws.call("tokens.issue", {{"sub", "u"}, {"refresh", true}});
    ASSERT_EQ(issued["ok"], true) << issued.dump();
    run_examples("token_refresh", {{"refresh_token", issued["result"]["refresh_token"]}});
    run_examples("subscribe", json::object());
    run_examples("unsubscribe", json::object());
    ASSERT_EQ(peer.call("join_room", {{"room", "ops"}})["ok"], true);
    run_examples("join_room", json::object());
    run_examples("room_message", json::object());
    run_examples("get_room_info", json::object());
    run_examples("leave_room", json::object());
    // The replay of states/user_1 (its state.registered), then the peer's
    // notices and the message.
    for (auto e = ws.next_event(milliseconds(500)); e.is_object();
         e = ws.next_event(milliseconds(300))) {
        frames.push_back({{"message", "event"}, {"frame", e}});
    }
    std::set<std::string> pushed;
    for (auto e = peer.next_event(milliseconds(500)); e.is_object();
         e = peer.next_event(milliseconds(300))) {
        pushed.insert(e["event"].get<std::string>());
        frames.push_back({{"message", e["event"]}, {"frame", e}});
    }
    EXPECT_EQ(pushed, (std::set<std::string>{"room.joined", "room.message", "room.left"}));
    ASSERT_GE(frames.size(), 12U);

    const auto doc_file = dir.file("asyncapi.json");
    const auto frames_file = dir.file("frames.json");
    write(doc_file, served_document(pbd, "/asyncapi.json"));
    write(frames_file, frames);
    const auto checked =
        run({"/usr/bin/python3", std::string(PB_SOURCE_DIR) + "/tests/asyncapi/check_frames.py",
             doc_file, frames_file},
            {});
    EXPECT_EQ(checked.exit_code, 0) << checked.out << checked.err;
    // A frame that does not match is caught (the check can fail).
    write(frames_file, json::array({{{"message", "join_room.result"},
                                     {"frame", {{"id", 1}, {"ok", true}, {"result", 1}}}}}));
    EXPECT_EQ(
        run({"/usr/bin/python3", std::string(PB_SOURCE_DIR) + "/tests/asyncapi/check_frames.py",
             doc_file, frames_file},
            {})
            .exit_code,
        1);
}

// Pins: GET /asyncapi.json answers without a credential the document `pbctl
// asyncapi` prints, GET only; it describes the channel /ws, a message and a
// reply for every op a socket may send and the pushed frames; and it
// validates with @asyncapi/parser from npm (installed into the build folder
// once), which refuses a broken copy.
TEST(WsOpsTable, AsyncApiDocumentValidates) {
    TempDir dir;
    RunningDaemon pbd(dir);
    const auto doc = served_document(pbd, "/asyncapi.json");
    ASSERT_TRUE(doc.is_object());
    const auto offline = run({pbctl_path(), "asyncapi"}, {{"PB_DB", dir.file("pbctl.db")}});
    ASSERT_EQ(offline.exit_code, 0) << offline.err;
    EXPECT_EQ(json::parse(offline.out), doc);
    EXPECT_EQ(status_of(pbd.client()->Post("/asyncapi.json", "{}", "application/json")), 405);
    EXPECT_EQ(doc["asyncapi"], "3.0.0");
    EXPECT_EQ(doc["channels"]["ws"]["address"], "/ws");
    for (const auto& op : runtime::op_table().all()) {
        SCOPED_TRACE(op.name);
        EXPECT_TRUE(doc["components"]["messages"].contains(op.name));
        EXPECT_TRUE(doc["components"]["messages"].contains(op.name + ".result"));
        EXPECT_EQ(doc["operations"][op.name]["x-pb-websocket-only"], op.websocket_only());
        EXPECT_EQ(doc["operations"][op.name]["x-pb-permission"], op.permission);
    }
    for (const char* pushed : {"event", "room.joined", "room.left", "room.message", "error"}) {
        EXPECT_TRUE(doc["components"]["messages"].contains(pushed)) << pushed;
    }

    const auto script = std::string(PB_SOURCE_DIR) + "/tests/asyncapi/validate.sh";
    write(dir.file("asyncapi.json"), doc);
    const auto valid =
        run({script, build_dir(), dir.file("asyncapi.json")}, {}, "", std::chrono::seconds(600));
    EXPECT_EQ(valid.exit_code, 0) << valid.out << valid.err;
    EXPECT_NE(valid.out.find("parsed: "), std::string::npos) << valid.out;
    auto broken = doc;
    broken["operations"]["join_room"]["messages"] =
        json::array({{{"$ref", "#/channels/ws/messages/no-such-message"}}});
    write(dir.file("broken.json"), broken);
    const auto refused =
        run({script, build_dir(), dir.file("broken.json")}, {}, "", std::chrono::seconds(600));
    EXPECT_NE(refused.exit_code, 0) << refused.out;
}

// Pins: subscribe with since on a topic the socket already follows replays
// the events after since that it was not sent (those from before it began
// following), in order, once; live events keep coming once; a since past the
// newest event is refused and the topic stays followed.
TEST(WsOpsTable, ResubscribeWithSinceReplaysWhatWasNotSent) {
    TempDir dir;
    RunningDaemon pbd(dir);
    WsClient ws(pbd.port(), {{"X-API-Key", pbd.bootstrap_key()}});
    const auto update = [&](int n) {
        const auto r = ws.call("states.update", {{"id", "s1"}, {"data", {{"n", n}}}});
        EXPECT_EQ(r["ok"], true) << r.dump();
    };
    // A watcher sees the first two events go out: the tail has published
    // them, so a subscription without since starts after them.
    WsClient watcher(pbd.port(), {{"X-API-Key", pbd.bootstrap_key()}});
    ASSERT_EQ(watcher.call("subscribe", {{"topics", {"states"}}})["ok"], true);
    ASSERT_EQ(ws.call("states.register", {{"id", "s1"}, {"type", "user"}})["ok"], true);
    update(1);
    ASSERT_TRUE(watcher.next_event().is_object());
    ASSERT_TRUE(watcher.next_event().is_object());
    const auto live = ws.call("subscribe", {{"topics", {"states/s1"}}});
    ASSERT_EQ(live["ok"], true) << live.dump();
    EXPECT_EQ(live["result"]["replayed"], 0);
    update(2);
    const auto first_live = ws.next_event();
    ASSERT_TRUE(first_live.is_object());
    EXPECT_EQ(first_live["data"]["data"]["n"], 2);

    // Again with since 0: the two events from before it followed the topic
    // come, not the one it had.
    const auto again = ws.call("subscribe", {{"topics", {"states/s1"}}, {"since", 0}});
    ASSERT_EQ(again["ok"], true) << again.dump();
    EXPECT_EQ(again["result"]["replayed"], 2);
    EXPECT_EQ(again["result"]["topics"], json::array({"states/s1"}));
    std::vector<long long> seqs;
    for (auto e = ws.next_event(milliseconds(500)); e.is_object();
         e = ws.next_event(milliseconds(300))) {
        seqs.push_back(e["seq"].get<long long>());
    }
    ASSERT_EQ(seqs.size(), 2U);
    EXPECT_LT(seqs[0], seqs[1]);
    EXPECT_LT(seqs[1], first_live["seq"].get<long long>());

    // It has had every event now: asked again, nothing is sent twice.
    const auto nothing = ws.call("subscribe", {{"topics", {"states/s1"}}, {"since", seqs[0]}});
    EXPECT_EQ(nothing["result"]["replayed"], 0) << nothing.dump();
    EXPECT_FALSE(ws.next_event(milliseconds(300)).is_object());

    // Past the newest event: refused, and the topic is still followed, once.
    const auto refused = ws.call("subscribe", {{"topics", {"states/s1"}}, {"since", 1'000'000}});
    EXPECT_EQ(code_of(refused), "invalid_argument");
    update(3);
    const auto after = ws.next_event();
    EXPECT_EQ(after["data"]["data"]["n"], 3) << after.dump();
    EXPECT_FALSE(ws.next_event(milliseconds(300)).is_object());
}

}  // namespace
}  // namespace pb::test
