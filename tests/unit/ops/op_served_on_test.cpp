// Where an op is served (ops::ServedOn) and the param kinds the WebSocket ops
// brought: the table keeps WebSocket ops out of route matching, refuses a
// route on one and a missing route on any other; json_value passes any JSON
// as is.
#include <set>

#include <gtest/gtest.h>

#include "common/core/error.hpp"
#include "common/ops/registry.hpp"
#include "common/ops/schema.hpp"
#include "common/ops/validate.hpp"
#include "common/runtime/op_table.hpp"
#include "tests/support/errors.hpp"

namespace pb::ops {
namespace {

using nlohmann::json;

Op websocket_op(std::string name) {
    return Op{.name = std::move(name), .summary = "s", .served_on = ServedOn::websocket};
}

// A WebSocket op has no route, every other op has one, and matching a path
// never finds a WebSocket op (its empty route matches nothing).
TEST(OpServedOn, RoutesAreForOpsServedEverywhereOnly) {
    OpTable t;
    auto routed = websocket_op("routed_ws");
    routed.route = {"GET", "/v1/ws-op"};
    EXPECT_EQ(test::error_code_of([&] { t.add(routed); }), ErrorCode::internal);
    EXPECT_EQ(test::error_code_of([&] { t.add(Op{.name = "no.route", .summary = "s"}); }),
              ErrorCode::internal);
    t.add(websocket_op("first_ws"));
    t.add(websocket_op("second_ws"));  // two empty routes are no duplicate
    t.add(Op{.name = "x.get", .summary = "s", .route = {"GET", "/v1/x"}});
    EXPECT_EQ(t.match("GET", "/v1/x").op, t.find("x.get"));
    EXPECT_EQ(t.match("GET", "").op, nullptr);
    EXPECT_EQ(t.match("", "").op, nullptr);
    EXPECT_FALSE(t.match("", "/").path_known);
}

// The real table: the eight WebSocket ops are there, routeless, with a
// handler that refuses to run them anywhere but on a socket.
TEST(OpServedOn, TheTablesWebSocketOpsRefuseToRunElsewhere) {
    std::set<std::string> names;
    for (const auto& op : runtime::op_table().all()) {
        if (!op.websocket_only()) {
            continue;
        }
        names.insert(op.name);
        EXPECT_TRUE(op.route.path.empty()) << op.name;
        ASSERT_TRUE(static_cast<bool>(op.handler)) << op.name;
    }
    EXPECT_EQ(names,
              (std::set<std::string>{"authenticate", "token_refresh", "subscribe", "unsubscribe",
                                     "join_room", "leave_room", "room_message", "get_room_info"}));
    const auto* join = runtime::op_table().find("join_room");
    ASSERT_NE(join, nullptr);
    struct NoServices final : ServiceRegistry {
        void* find(std::type_index) override { return nullptr; }
        const Clock& clock() const override { return SystemClock::instance(); }
    } services;
    const Caller caller{"test", {"admin"}};
    Context ctx{services, caller};
    try {
        join->handler(ctx, {{"room", "ops"}});
        FAIL() << "join_room ran outside a socket";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
        EXPECT_NE(std::string(e.what()).find("/ws"), std::string::npos) << e.what();
    }
}

// json_value: any JSON value, unchanged; required still means present.
TEST(OpServedOn, JsonValueTakesAnyValueAsIs) {
    const Op op{.name = "t.any",
                .summary = "s",
                .params = {Param{.name = "data",
                                 .type = ParamType::json_value,
                                 .help = "h",
                                 .required = Required::yes}}};
    for (const json& v : {json("text"), json(12), json(true), json::array({1, "a"}),
                          json{{"k", {{"deep", 1}}}}, json(std::string(10'000, 'x'))}) {
        EXPECT_EQ(validate_args(op, {{"data", v}}, 0)["data"], v);
    }
    EXPECT_EQ(test::error_code_of([&] { validate_args(op, json::object(), 0); }),
              ErrorCode::invalid_argument);
    EXPECT_EQ(schema::param_schema(op.params[0]), json({{"description", "h"}}));
}

}  // namespace
}  // namespace pb::ops
