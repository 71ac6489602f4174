#include <gtest/gtest.h>

#include "common/core/error.hpp"
#include "common/ops/registry.hpp"
#include "common/runtime/op_table.hpp"

namespace pb::ops {
namespace {

Op route_op(std::string name, std::string method, std::string path) {
    return Op{
        .name = std::move(name), .summary = "s", .route = {std::move(method), std::move(path)}};
}

// A table where a literal and a capture compete for the same path, in either order.
OpTable competing_table(bool literal_first) {
    OpTable t;
    auto literal = route_op("keys.verify", "POST", "/v1/keys/verify");
    auto capture = route_op("keys.touch", "POST", "/v1/keys/{id}");
    if (literal_first) {
        t.add(literal);
        t.add(capture);
    } else {
        t.add(capture);
        t.add(literal);
    }
    t.add(route_op("keys.show", "GET", "/v1/keys/{id}"));
    t.add(route_op("keys.rotate", "POST", "/v1/keys/{id}/rotate"));
    return t;
}

// A literal segment beats a {capture}, whichever was registered first.
TEST(OpTableMatch, LiteralBeatsCapture) {
    for (bool literal_first : {true, false}) {
        SCOPED_TRACE(literal_first);
        const auto t = competing_table(literal_first);
        const auto m = t.match("POST", "/v1/keys/verify");
        ASSERT_NE(m.op, nullptr);
        EXPECT_EQ(m.op->name, "keys.verify");
        EXPECT_TRUE(m.captures.empty());
        const auto c = t.match("POST", "/v1/keys/abc123");
        ASSERT_NE(c.op, nullptr);
        EXPECT_EQ(c.op->name, "keys.touch");
        EXPECT_EQ(c.captures.at("id"), "abc123");
    }
}

// Captures are filled by name and the segment count must match.
TEST(OpTableMatch, FillsCapturesAndNeedsSameLength) {
    const auto t = competing_table(true);
    const auto m = t.match("POST", "/v1/keys/k1/rotate");
    ASSERT_NE(m.op, nullptr);
    EXPECT_EQ(m.op->name, "keys.rotate");
    EXPECT_EQ(m.captures.at("id"), "k1");
    EXPECT_EQ(t.match("POST", "/v1/keys/k1/rotate/extra").op, nullptr);
    EXPECT_EQ(t.match("POST", "/v1").op, nullptr);
}

// A path served under another method is known (405), an absent one is not (404).
TEST(OpTableMatch, PathKnownForWrongMethod) {
    const auto t = competing_table(true);
    const auto wrong = t.match("DELETE", "/v1/keys/verify");
    EXPECT_EQ(wrong.op, nullptr);
    EXPECT_TRUE(wrong.path_known);
    const auto rotate = t.match("GET", "/v1/keys/k1/rotate");
    EXPECT_EQ(rotate.op, nullptr);
    EXPECT_TRUE(rotate.path_known);
    const auto absent = t.match("GET", "/v1/nothing/here");
    EXPECT_EQ(absent.op, nullptr);
    EXPECT_FALSE(absent.path_known);
}

// Methods are matched exactly.
TEST(OpTableMatch, MethodIsExact) {
    const auto t = competing_table(true);
    EXPECT_EQ(t.match("post", "/v1/keys/verify").op, nullptr);
    EXPECT_NE(t.match("GET", "/v1/keys/x").op, nullptr);
}

// The real table routes key verification to keys.verify, not to a keys/{id} route.
TEST(OpTableMatch, RealTableRoutesVerify) {
    const auto& t = runtime::op_table();
    const auto m = t.match("POST", "/v1/keys/verify");
    ASSERT_NE(m.op, nullptr);
    EXPECT_EQ(m.op->name, "keys.verify");
    const auto show = t.match("GET", "/v1/keys/abc");
    ASSERT_NE(show.op, nullptr);
    EXPECT_EQ(show.op->name, "keys.show");
    EXPECT_EQ(show.captures.at("id"), "abc");
    const auto put = t.match("PUT", "/v1/keys");
    EXPECT_EQ(put.op, nullptr);
    EXPECT_TRUE(put.path_known);
}

// Registering a name or a method+path twice is a programmer error.
TEST(OpTableAdd, RefusesDuplicates) {
    OpTable t;
    t.add(route_op("a.one", "GET", "/v1/a"));
    EXPECT_THROW(t.add(route_op("a.one", "GET", "/v1/other")), Error);
    EXPECT_THROW(t.add(route_op("a.two", "GET", "/v1/a")), Error);
    t.add(route_op("a.three", "POST", "/v1/a"));
    EXPECT_EQ(t.all().size(), 2U);
    EXPECT_NE(t.find("a.three"), nullptr);
    EXPECT_EQ(t.find("a.two"), nullptr);
}

// A last "{name...}" captures the rest of the path, slashes included, and needs one segment.
TEST(OpTableMatch, TailCaptureTakesTheRestOfThePath) {
    OpTable t;
    t.add(route_op("secrets.get", "GET", "/v1/secrets/{path...}"));
    t.add(route_op("secrets.list", "GET", "/v1/secrets"));
    t.add(route_op("secrets.put", "PUT", "/v1/secrets/{path...}"));
    const auto deep = t.match("GET", "/v1/secrets/app/db/primary");
    ASSERT_NE(deep.op, nullptr);
    EXPECT_EQ(deep.op->name, "secrets.get");
    EXPECT_EQ(deep.captures.at("path"), "app/db/primary");
    const auto one = t.match("GET", "/v1/secrets/db");
    ASSERT_NE(one.op, nullptr);
    EXPECT_EQ(one.captures.at("path"), "db");
    const auto bare = t.match("GET", "/v1/secrets");
    ASSERT_NE(bare.op, nullptr);
    EXPECT_EQ(bare.op->name, "secrets.list");
    const auto other = t.match("DELETE", "/v1/secrets/app/db");
    EXPECT_EQ(other.op, nullptr);
    EXPECT_TRUE(other.path_known);
    EXPECT_EQ(t.match("GET", "/v1/other/app/db").op, nullptr);
}

// A fixed route beats a tail capture with as many literal segments; a tail must end the route.
TEST(OpTableMatch, FixedRouteBeatsTailCapture) {
    for (bool tail_first : {true, false}) {
        OpTable t;
        auto tail = route_op("files.get", "GET", "/v1/files/{path...}");
        auto fixed = route_op("files.show", "GET", "/v1/files/{id}");
        if (tail_first) {
            t.add(tail);
            t.add(fixed);
        } else {
            t.add(fixed);
            t.add(tail);
        }
        EXPECT_EQ(t.match("GET", "/v1/files/abc").op->name, "files.show");
        EXPECT_EQ(t.match("GET", "/v1/files/a/b").op->name, "files.get");
    }
    OpTable bad;
    EXPECT_THROW(bad.add(route_op("x.y", "GET", "/v1/{rest...}/more")), Error);
}

}  // namespace
}  // namespace pb::ops
