#include "common/ops/route_template.hpp"

#include <gtest/gtest.h>

#include "common/core/error.hpp"
#include "common/runtime/op_table.hpp"
#include "tests/support/errors.hpp"

namespace pb::ops {
namespace {

using nlohmann::json;
using test::error_of;

// Expanding then matching gives the args back, whatever the names hold:
// slashes, spaces, percent signs, plus signs, unicode, reserved characters.
TEST(RouteTemplate, ExpandThenMatchGivesTheArgsBack) {
    const RouteTemplate route("/v1/limits/{scope}/{id}");
    for (const std::string id : {"plain", "a/b/c", "with space", "100%", "%41 not an escape", "a+b",
                                 "é and 日本", "?query#frag&x=1", "..", "~-_."}) {
        SCOPED_TRACE(id);
        json args{{"scope", "user"}, {"id", id}, {"other", 1}};
        const auto path = route.expand(args);
        EXPECT_EQ(args, json({{"other", 1}}));  // the captured args were taken out
        EXPECT_EQ(path.find(' '), std::string::npos) << path;
        EXPECT_EQ(std::count(path.begin(), path.end(), '/'), 4) << path;
        const auto captured = route.match(path);
        ASSERT_TRUE(captured.has_value()) << path;
        EXPECT_EQ(captured->at("scope"), "user");
        EXPECT_EQ(captured->at("id"), id);
    }
}

// A "{name...}" tail keeps its slashes (each segment encoded alone) and
// captures the rest of the path; a non-string arg travels as its JSON text.
TEST(RouteTemplate, ARestCaptureKeepsItsSlashes) {
    const RouteTemplate route("/v1/secrets/{path...}");
    EXPECT_TRUE(route.has_tail());
    json args{{"path", "app/db primary/100%/é"}};
    const auto path = route.expand(args);
    EXPECT_EQ(path, "/v1/secrets/app/db%20primary/100%25/%C3%A9");
    EXPECT_EQ(route.match(path)->at("path"), "app/db primary/100%/é");
    EXPECT_EQ(route.match("/v1/secrets/one")->at("path"), "one");
    EXPECT_FALSE(route.match("/v1/secrets").has_value());
    EXPECT_FALSE(route.match("/v1/other/app").has_value());
    json number{{"path", 42}};
    EXPECT_EQ(route.expand(number), "/v1/secrets/42");
}

// A missing (or null) arg is refused naming the param, and nothing is taken out of args.
TEST(RouteTemplate, RefusesAMissingArg) {
    const RouteTemplate route("/v1/limits/{scope}/{id}");
    json args{{"scope", "user"}};
    const auto e = error_of([&] { route.expand(args); });
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_EQ(std::string(e.what()),
              "missing argument \"id\" for the route /v1/limits/{scope}/{id}");
    EXPECT_EQ(e.details().at("param"), "id");
    json null_id{{"scope", "user"}, {"id", nullptr}};
    EXPECT_EQ(error_of([&] { route.expand(null_id); }).code(), ErrorCode::invalid_argument);
}

// Matching counts literal segments, needs the same length without a tail,
// and refuses a broken %-escape as invalid_argument.
TEST(RouteTemplate, MatchFitsSegmentsAndRefusesBrokenEscapes) {
    const RouteTemplate route("/v1/keys/{id}/rotate");
    PathSegments segments;
    ASSERT_TRUE(split_path("//v1/keys/k1/rotate/", segments));
    EXPECT_EQ(route.fit(segments), 3);
    EXPECT_EQ(route.captures(segments).at("id"), "k1");
    EXPECT_FALSE(route.match("/v1/keys/k1").has_value());
    EXPECT_FALSE(route.match("/v1/keys/k1/rotate/more").has_value());
    EXPECT_EQ(route.match("/v1/keys/a%2Fb/rotate")->at("id"), "a/b");
    EXPECT_EQ(error_of([&] { route.match("/v1/keys/%4/rotate"); }).code(),
              ErrorCode::invalid_argument);
}

// Bad templates are programmer errors: too many segments, a tail that is not last.
TEST(RouteTemplate, RefusesBadTemplates) {
    EXPECT_EQ(error_of([] { RouteTemplate("/v1/{rest...}/more"); }).code(), ErrorCode::internal);
    std::string deep;
    for (std::size_t i = 0; i <= k_max_route_segments; ++i) {
        deep += "/s";
    }
    EXPECT_EQ(error_of([&] { RouteTemplate{deep}; }).code(), ErrorCode::internal);
    PathSegments segments;
    EXPECT_FALSE(split_path(deep, segments));
}

// Every route of the real table expands from its ops' capture args and matches back.
TEST(RouteTemplate, EveryRealRouteRoundTrips) {
    for (const auto& op : runtime::op_table().all()) {
        SCOPED_TRACE(op.name);
        const RouteTemplate route(op.route.path);
        json args = json::object();
        for (const auto& p : op.params) {
            args[p.name] = "v/" + p.name + " %";
        }
        const auto params = args;
        const auto path = route.expand(args);
        const auto captured = route.match(path);
        ASSERT_TRUE(captured.has_value()) << path;
        for (const auto& [name, value] : *captured) {
            EXPECT_EQ(value, params.at(name)) << name;
        }
        EXPECT_EQ(captured->size() + args.size(), params.size());
        // pbctl validates before it expands: a capture is required or has a
        // default, so the missing-arg refusal is never what a user meets.
        for (const auto& [name, value] : *captured) {
            const auto* param = op.find_param(name);
            ASSERT_NE(param, nullptr) << name;
            EXPECT_TRUE(param->required == Required::yes || !param->fallback.is_null()) << name;
        }
    }
}

}  // namespace
}  // namespace pb::ops
