// The WebSocket session's ops as table entries: what they take, answer and
// push. pbd's session (daemon/ws) runs them; the frames they push are made
// by its fan-out and rooms, whose shapes the schemas here pin (the ws tests
// validate real frames against them).
#include "common/runtime/ws_ops.hpp"

#include "common/core/error.hpp"
#include "common/ops/schema.hpp"

namespace pb::runtime {
namespace {

using nlohmann::json;
using ops::BeforeAuth;
using ops::Op;
using ops::Param;
using ops::ParamType;
using ops::Required;
using ops::Secret;
using ops::ServedOn;

const char* const k_example_key = "pb_4fQ9kZr2Lm8x_Vb3nQ7sT1wXy5Za8Cd2Ef4Gh6Jk9Mn0Pq0aB1c2D";
// Room names: what Rooms accepts (daemon/ws/rooms.cpp).
const char* const k_room_help = "The room: 1 to 200 bytes, no control characters";
// What the table's handler does when anything but pbd's session runs a
// WebSocket op (an action, a test): refuses.
ops::Handler only_on_a_socket(const std::string& name) {
    return [name](ops::Context&, const json&) -> json {
        throw Error(ErrorCode::invalid_argument,
                    name + " is a WebSocket op: send it as a message on pbd's /ws", {{"op", name}});
    };
}

Op websocket_op(Op op) {
    op.served_on = ServedOn::websocket;
    op.handler = only_on_a_socket(op.name);
    return op;
}

json member_schema() {
    using namespace ops::schema;
    return named("RoomMember",
                 object({{"session", integer("The member's session, numbered per daemon")},
                         {"actor", string("Who its credential is: key:<id> or jwt:<sub>")},
                         {"daemon", optional(string("The daemon it is on, when rooms span daemons "
                                                    "through Redis"))}},
                        "A socket in a room"));
}

Param topics_param(std::string help) {
    return Param{.name = "topics",
                 .type = ParamType::string_list,
                 .help = std::move(help),
                 .required = Required::yes};
}

Param room_param() {
    return Param{.name = "room", .help = k_room_help, .required = Required::yes};
}

ops::Push room_notice(const std::string& name, const std::string& summary) {
    using namespace ops::schema;
    return {.name = name,
            .summary = summary,
            .schema = object(
                {{"event", choice({name})}, {"room", string()}, {"member", member_schema()}}),
            .example = {{"event", name},
                        {"room", "ops"},
                        {"member", {{"session", 8}, {"actor", "key:7hR2mP9qLx4z"}}}}};
}

void add_session_ops(ops::OpTable& t) {
    using namespace ops::schema;
    t.add(websocket_op(Op{
        .name = "authenticate",
        .summary = "Give the socket its credential: an API key or a JWT",
        .params = {Param{.name = "api_key",
                         .help = "An API key (pb_…)",
                         .secret = Secret::yes,
                         // tokens.max_size bounds a JWT (the token service's
                         // reason); ws.max_message the rest.
                         .bound = ops::TextBound::token},
                   Param{.name = "token",
                         .help = "A JWT access token (pb's or a trusted issuer's)",
                         .secret = Secret::yes,
                         .bound = ops::TextBound::token},
                   Param{.name = "access_token",
                         .help = "The same as token, under the name tokens.issue answers with",
                         .secret = Secret::yes,
                         .bound = ops::TextBound::token}},
        .response = object({{"authenticated", boolean()},
                            {"actor", string("key:<id> or jwt:<sub>")},
                            {"permissions", array(string())},
                            {"session", integer("This socket's number on this daemon")}}),
        .errors = {ErrorCode::unauthenticated},
        .examples = {{"Authenticate with an API key",
                      {{"api_key", k_example_key}},
                      {{"authenticated", true},
                       {"actor", "key:4fQ9kZr2Lm8x"},
                       {"permissions", {"admin"}},
                       {"session", 7}}}},
        .before_auth = BeforeAuth::allowed,
        .description =
            "Give one of api_key, token or access_token. A socket may also authenticate with "
            "its upgrade request's Authorization or X-API-Key header. An unauthenticated socket "
            "may only authenticate or token_refresh; it is closed (1008) after ws.auth_timeout, "
            "or after 3 failed attempts. Authenticating again replaces the credential. Each "
            "later op verifies the credential again and is admitted as one HTTP request (bans, "
            "limits, one use of a counted key); authenticating spends no use.",
    }));

    // tokens.refresh's twin: the same params, answer and examples.
    const Op* refresh = t.find("tokens.refresh");
    if (refresh == nullptr) {
        throw Error(ErrorCode::internal, "register_ws_ops: tokens.refresh is not registered yet");
    }
    auto refresh_params = refresh->params;
    for (auto& p : refresh_params) {
        p.positional = ops::Positional::no;
    }
    t.add(websocket_op(Op{
        .name = "token_refresh",
        .summary = "Trade a refresh token for a new pair, as tokens.refresh; a socket opened "
                   "with a JWT moves to the new access token",
        .params = std::move(refresh_params),
        .response = refresh->response,
        .errors = refresh->errors,
        .examples = refresh->examples,
        .before_auth = BeforeAuth::allowed,
        .description =
            "May be sent before authenticating: the refresh token is a credential of its own. "
            "A socket with no credential, or one opened with a JWT, is authenticated with the "
            "new access token; a socket opened with an API key keeps its key.",
    }));

    t.add(websocket_op(Op{
        .name = "subscribe",
        .summary = "Follow the events of some topics, optionally replaying those after a seq",
        .params = {topics_param("Topic patterns, 1 to 100: a topic (states/user_1), a topic and "
                                "everything under it (keys), a prefix ending in * "
                                "(states/user_*), or * for everything"),
                   Param{.name = "since",
                         .type = ParamType::integer,
                         .help = "Replay the events after this seq first, then follow live"}},
        .response = object(
            {{"topics", array(string(), "Every pattern the socket follows now")},
             {"position", integer("The seq up to which the replay went; live events follow it")},
             {"replayed", integer("How many events the replay sent")}}),
        .errors = {ErrorCode::unauthenticated, ErrorCode::permission_denied, ErrorCode::not_found},
        .examples =
            {{"Follow keys and bans from now on",
              {{"topics", {"keys", "bans"}}},
              {{"topics", {"keys", "bans"}}, {"position", 120}, {"replayed", 0}}},
             {"Replay a state's events after seq 1, then follow it",
              {{"topics", {"states/user_1"}}, {"since", 1}},
              {{"topics", {"keys", "bans", "states/user_1"}}, {"position", 120}, {"replayed", 3}}}},
        .pushes = {{.name = "event",
                    .summary = "An outbox event on a followed topic",
                    .schema = named(
                        "Event",
                        object({{"event", string("What happened: key.created, state.updated, …")},
                                {"topic", string("keys/<id>, bans, states/<id>, …")},
                                {"seq", integer("Its place in the outbox: increasing, never "
                                                "reused")},
                                {"data", any("The change; never a secret")},
                                {"created_at", time()}})),
                    .example = {{"event", "state.updated"},
                                {"topic", "states/user_1"},
                                {"seq", 121},
                                {"data", {{"id", "user_1"}, {"version", 4}}},
                                {"created_at", "2026-12-07T14:00:00.123Z"}}}},
        .description =
            "Each pattern needs the read permission of its first segment (keys:read for keys/…) "
            "or events:read (the only one that allows *). Without since, only new events come. "
            "With since, the events after it that match the patterns are sent first (they may "
            "arrive before the answer), then the events published meanwhile, then live ones: "
            "nothing lost, nothing sent twice, in seq order. On a pattern the socket already "
            "follows, since replays the events after it that the socket was not sent yet (those "
            "from before it began following). A since whose next events were pruned "
            "(events.retention) is refused with not_found, details.reason \"pruned\" and "
            "details.oldest_seq; one past the newest event with invalid_argument.",
    }));

    t.add(websocket_op(Op{
        .name = "unsubscribe",
        .summary = "Stop following some topic patterns",
        .params = {topics_param("The patterns to drop, as subscribe named them")},
        .response = object({{"topics", array(string(), "The patterns still followed")}}),
        .errors = {ErrorCode::unauthenticated},
        .examples = {{"Stop following bans", {{"topics", {"bans"}}}, {{"topics", {"keys"}}}}},
    }));
}

void add_room_ops(ops::OpTable& t) {
    using namespace ops::schema;
    t.add(websocket_op(Op{
        .name = "join_room",
        .summary = "Join a room: its messages and notices come to this socket",
        .params = {room_param()},
        .permission = "rooms:write",
        .response = object(
            {{"room", string()},
             {"members", integer("How many sockets are in it now, this one included")},
             {"session", integer("This socket's number on this daemon")},
             {"daemon", optional(string("This daemon, when rooms span daemons through Redis"))}}),
        .examples = {{"Join the ops room",
                      {{"room", "ops"}},
                      {{"room", "ops"}, {"members", 1}, {"session", 7}}}},
        .pushes = {room_notice("room.joined", "Another socket joined a room this one is in"),
                   room_notice("room.left", "Another socket left a room this one is in"),
                   {.name = "room.message",
                    .summary = "A message another member sent to a room this socket is in",
                    .schema = object({{"event", choice({"room.message"})},
                                      {"room", string()},
                                      {"from", member_schema()},
                                      {"data", any("As the sender gave it")}}),
                    .example = {{"event", "room.message"},
                                {"room", "ops"},
                                {"from", {{"session", 8}, {"actor", "key:7hR2mP9qLx4z"}}},
                                {"data", {{"text", "deploy at 5"}}}}}},
        .description = "A socket joins at most 100 rooms. The other members are told "
                       "(room.joined). Rooms live in pbd's memory; with Redis they span every "
                       "daemon that shares it, and members carry their daemon.",
    }));
    t.add(websocket_op(Op{
        .name = "leave_room",
        .summary = "Leave a room",
        .params = {room_param()},
        .permission = "rooms:write",
        .response = object({{"room", string()}, {"left", boolean()}}),
        .errors = {ErrorCode::not_found},
        .examples = {{"Leave the ops room", {{"room", "ops"}}, {{"room", "ops"}, {"left", true}}}},
        .description = "The other members are told (room.left). A socket that closes leaves "
                       "its rooms. not_found unless the socket is a member.",
    }));
    t.add(websocket_op(Op{
        .name = "room_message",
        .summary = "Send any JSON value to the other members of a room",
        .params = {room_param(), Param{.name = "data",
                                       .type = ParamType::json_value,
                                       .help = "What to send: any JSON value",
                                       .required = Required::yes}},
        .permission = "rooms:write",
        .response = object(
            {{"room", string()},
             {"delivered", integer("Members on this daemon it went to (the sender excluded)")},
             {"relayed", optional(boolean("Also sent to the members on other daemons"))}}),
        .examples = {{"Tell the ops room",
                      {{"room", "ops"}, {"data", {{"text", "deploy at 5"}}}},
                      {{"room", "ops"}, {"delivered", 0}}}},
        .description = "Only a member may send (permission_denied otherwise); the sender does "
                       "not get its own message. The members get a room.message frame.",
    }));
    t.add(websocket_op(Op{
        .name = "get_room_info",
        .summary = "Who is in a room",
        .params = {room_param()},
        .permission = "rooms:read",
        .response = object({{"room", string()},
                            {"count", integer()},
                            {"members", array(member_schema())},
                            {"partial", optional(boolean("Redis could not be asked: only this "
                                                         "daemon's members are listed"))}}),
        .examples = {{"The members of the ops room",
                      {{"room", "ops"}},
                      {{"room", "ops"},
                       {"count", 1},
                       {"members", {{{"session", 7}, {"actor", "key:4fQ9kZr2Lm8x"}}}}}}},
        .description = "Any room may be asked about, member or not; an empty room has count 0.",
    }));
}

}  // namespace

void register_ws_ops(ops::OpTable& table) {
    add_session_ops(table);
    add_room_ops(table);
}

}  // namespace pb::runtime
