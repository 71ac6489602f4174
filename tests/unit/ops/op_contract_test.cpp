#include <string>

#include <gtest/gtest.h>

#include "common/core/error.hpp"
#include "common/ops/schema.hpp"
#include "common/ops/validate.hpp"
#include "common/runtime/op_table.hpp"

namespace pb::ops {
namespace {

using nlohmann::json;

// 2026-01-02T03:04:05Z: the examples' times are after it.
constexpr UnixMillis k_now = 1767323045000;

// A schema says something: a type, a reference to a named one, or a choice.
bool is_schema(const json& s) {
    return s.is_object() && (s.contains("type") || s.contains("anyOf") || s.contains("oneOf"));
}

// Pins: every op of the table carries its contract: a response schema and at
// least one example with a summary, arguments and an answer. A new op without
// them fails here (and /openapi.json would show it without).
TEST(OpContract, EveryOpHasAResponseSchemaAndAnExample) {
    for (const auto& op : runtime::op_table().all()) {
        SCOPED_TRACE(op.name);
        EXPECT_TRUE(is_schema(op.response)) << op.response.dump();
        EXPECT_FALSE(op.examples.empty());
        for (const auto& ex : op.examples) {
            EXPECT_FALSE(ex.summary.empty());
            EXPECT_TRUE(ex.args.is_object());
            EXPECT_FALSE(ex.result.is_null()) << ex.summary;
        }
    }
}

// Pins: each example's arguments are what the op accepts (validate_args), so
// an example cannot drift from the params; each answer is a JSON object with
// every field its response schema requires.
TEST(OpContract, ExamplesAreValidCalls) {
    for (const auto& op : runtime::op_table().all()) {
        for (const auto& ex : op.examples) {
            SCOPED_TRACE(op.name + ": " + ex.summary);
            EXPECT_NO_THROW(validate_args(op, ex.args, k_now));
            if (op.response.contains("required")) {
                ASSERT_TRUE(ex.result.is_object());
                for (const auto& field : op.response["required"]) {
                    EXPECT_TRUE(ex.result.contains(field.get<std::string>())) << field;
                }
            }
        }
    }
}

// Pins: an op's declared errors are its own (not the ones every op answers),
// each once.
TEST(OpContract, DeclaredErrorsAreTheOpsOwn) {
    for (const auto& op : runtime::op_table().all()) {
        SCOPED_TRACE(op.name);
        for (std::size_t i = 0; i < op.errors.size(); ++i) {
            EXPECT_NE(op.errors[i], ErrorCode::invalid_argument);
            EXPECT_NE(op.errors[i], ErrorCode::internal);
            for (std::size_t j = i + 1; j < op.errors.size(); ++j) {
                EXPECT_NE(op.errors[i], op.errors[j]);
            }
        }
    }
}

// Pins: a param's schema follows its type: a list is an array of text, an
// object an object, a choice an enum, an integer has its minimum; a required
// param is required in the request schema, and no other member is allowed; a
// JSON object param says it takes any members (as free_object() does), so that
// generated clients can send some.
TEST(OpContract, ParamSchemasFollowTheirTypes) {
    const auto* op = runtime::op_table().find("keys.create");
    ASSERT_NE(op, nullptr);
    const auto s = schema::request_schema(*op);
    EXPECT_EQ(s["additionalProperties"], false);
    EXPECT_EQ(s["required"], json::array({"owner"}));
    EXPECT_EQ(s["properties"]["permissions"]["type"], "array");
    EXPECT_EQ(s["properties"]["permissions"]["items"]["type"], "string");
    EXPECT_EQ(s["properties"]["metadata"]["type"], "object");
    EXPECT_EQ(s["properties"]["metadata"]["additionalProperties"], true);
    EXPECT_EQ(schema::free_object()["additionalProperties"], true);
    EXPECT_EQ(s["properties"]["remaining"]["minimum"], 1);
    const auto* list = runtime::op_table().find("keys.list");
    ASSERT_NE(list, nullptr);
    EXPECT_EQ(schema::request_schema(*list)["properties"]["status"]["enum"],
              json::array({"active", "revoked", "disabled", "expired", "exhausted"}));
}

// Pins: the helpers: object() requires every field but optional() ones;
// nullable() adds null; a named schema stays whole under nullable.
TEST(OpContract, SchemaHelpers) {
    using namespace schema;
    const auto o = object({{"a", string()}, {"b", optional(integer())}});
    EXPECT_EQ(o["required"], json::array({"a"}));
    EXPECT_FALSE(o["properties"]["b"].contains("x-pb-optional"));
    EXPECT_EQ(nullable(string())["type"], json::array({"string", "null"}));
    const auto n = nullable(named("Thing", object({{"a", string()}})));
    ASSERT_TRUE(n.contains("anyOf"));
    EXPECT_EQ(n["anyOf"][0]["title"], "Thing");
    EXPECT_EQ(time()["format"], "date-time");
}

}  // namespace
}  // namespace pb::ops
