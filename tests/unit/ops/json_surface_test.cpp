// The JSON surface (HTTP bodies, WebSocket args) takes only JSON-native values,
// names refusals by RFC 6901 pointer and expected type, and knows no CliOnly
// params; the cli surface keeps pbctl's text spellings.
#include <string>

#include <gtest/gtest.h>

#include "common/core/error.hpp"
#include "common/ops/schema.hpp"
#include "common/ops/validate.hpp"
#include "common/runtime/op_table.hpp"
#include "tests/support/errors.hpp"

namespace pb::ops {
namespace {

using nlohmann::json;

constexpr UnixMillis k_now = 1'700'000'000'000;

Op strict_op() {
    return Op{
        .name = "test.strict",
        .summary = "Strict",
        .params =
            {
                Param{.name = "text", .help = "h"},
                Param{.name = "count", .type = ParamType::integer, .help = "h"},
                Param{.name = "flag", .type = ParamType::boolean, .help = "h"},
                Param{.name = "wait", .type = ParamType::duration, .help = "h"},
                Param{.name = "at", .type = ParamType::time, .help = "h"},
                Param{.name = "perms", .type = ParamType::string_list, .help = "h", .flag = "perm"},
                Param{.name = "meta", .type = ParamType::json_object, .help = "h"},
                Param{.name = "word",
                      .type = ParamType::string_list,
                      .help = "h",
                      .cli_only = CliOnly::yes},
                Param{.name = "doc",
                      .type = ParamType::json_object,
                      .help = "h",
                      .required = Required::api},
                Param{
                    .name = "token", .help = "h", .secret = Secret::yes, .bound = TextBound::token},
            },
        .route = {"POST", "/v1/test"},
    };
}

const json k_doc = json::object();

Error refusal(const json& raw, Surface surface = Surface::json,
              NameStyle style = NameStyle::field) {
    return pb::test::error_of([&] { validate_args(strict_op(), raw, k_now, style, surface); });
}

json with_doc(json raw) {
    raw["doc"] = k_doc;
    return raw;
}

// Each text spelling pbctl accepts is refused in a body, with the field's
// pointer and its JSON type in words.
TEST(JsonSurface, TextSpellingsAreRefusedWithPointerAndExpectedType) {
    struct Case {
        json raw;
        const char* pointer;
        const char* expected;
    };
    const std::vector<Case> cases{
        {{{"count", "5"}}, "/count", "an integer"},
        {{{"count", 5.0}}, "/count", "an integer"},
        {{{"flag", "true"}}, "/flag", "true or false"},
        {{{"flag", 1}}, "/flag", "true or false"},
        {{{"perms", "read"}}, "/perms", "an array of strings"},
        {{{"perms", {"read", 3}}}, "/perms/1", "a non-empty string"},
        {{{"perms", {"read", ""}}}, "/perms/1", "a non-empty string"},
        {{{"meta", R"({"a":1})"}}, "/meta", "an object"},
        {{{"text", 12}}, "/text", "a string"},
        {{{"at", "never"}},
         "/at",
         "an RFC 3339 time, Unix milliseconds, a duration from now like 30d, or null"},
        {{{"at", "1767323045000"}},
         "/at",
         "an RFC 3339 time, Unix milliseconds, a duration from now like 30d, or null"},
        {{{"wait", "10"}}, "/wait", "an integer of milliseconds or a duration like 15m"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.raw.dump());
        const auto e = refusal(with_doc(c.raw));
        EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
        EXPECT_EQ(e.details().value("pointer", ""), c.pointer);
        EXPECT_EQ(e.details().value("expected", ""), c.expected);
        EXPECT_EQ(e.details().value("param", ""), c.raw.begin().key());
        // The message names the field, in the JSON vocabulary.
        EXPECT_TRUE(std::string(e.what()).starts_with(c.raw.begin().key() + ": expected"))
            << e.what();
    }
}

// The documented string formats stay: a duration's text, a time's RFC 3339
// text or duration from now, and null for "never".
TEST(JsonSurface, DocumentedStringFormatsAreAccepted) {
    const auto out = validate_args(
        strict_op(), with_doc({{"wait", "15m"}, {"at", "2026-01-02T03:04:05Z"}, {"count", 5}}),
        k_now);
    EXPECT_EQ(out.at("wait"), 900'000);
    EXPECT_EQ(out.at("at"), 1'767'323'045'000);
    EXPECT_EQ(out.at("count"), 5);
    EXPECT_EQ(validate_args(strict_op(), with_doc({{"at", "1d"}}), k_now).at("at"),
              k_now + 86'400'000);
    EXPECT_TRUE(validate_args(strict_op(), with_doc({{"at", nullptr}}), k_now).at("at").is_null());
    EXPECT_EQ(validate_args(strict_op(), with_doc({{"wait", 250}}), k_now).at("wait"), 250);
}

// The same values are read from text on the cli surface, to the same JSON form.
TEST(JsonSurface, CliSurfaceReadsTextToTheSameForm) {
    const json text{{"count", "5"},  {"flag", "yes"},        {"perms", "read"},
                    {"at", "never"}, {"meta", R"({"a":1})"}, {"word", "x=y"}};
    const auto out = validate_args(strict_op(), text, k_now, NameStyle::flag, Surface::cli);
    EXPECT_EQ(out.at("count"), 5);
    EXPECT_EQ(out.at("flag"), true);
    EXPECT_EQ(out.at("perms"), json::array({"read"}));
    EXPECT_TRUE(out.at("at").is_null());
    EXPECT_EQ(out.at("meta"), (json{{"a", 1}}));
    EXPECT_EQ(out.at("word"), json::array({"x=y"}));
    // pbctl names its flags.
    const auto e = refusal({{"perms", json::array({3})}}, Surface::cli, NameStyle::flag);
    EXPECT_TRUE(std::string(e.what()).starts_with("--perm: ")) << e.what();
}

// A field the op does not declare, or a CliOnly one, is unknown on the JSON
// and text surfaces: 400 with its pointer (escaped per RFC 6901).
TEST(JsonSurface, UnknownAndCliOnlyFieldsAreRefused) {
    for (const auto surface : {Surface::json, Surface::text}) {
        auto e = refusal(with_doc({{"bogus", 1}}), surface);
        EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
        EXPECT_EQ(e.details().value("pointer", ""), "/bogus");
        EXPECT_EQ(e.details().value("param", ""), "bogus");
        EXPECT_NE(std::string(e.what()).find("unknown field \"bogus\""), std::string::npos);
        e = refusal(with_doc({{"word", {"x=y"}}}), surface);
        EXPECT_EQ(e.details().value("pointer", ""), "/word");
        EXPECT_NE(std::string(e.what()).find("pbctl option"), std::string::npos) << e.what();
    }
    EXPECT_EQ(refusal(with_doc({{"a/b~c", 1}})).details().value("pointer", ""), "/a~1b~0c");
    // The cli surface knows CliOnly params but still not unknown ones.
    EXPECT_EQ(refusal({{"bogus", 1}}, Surface::cli).details().value("pointer", ""), "/bogus");
}

// Required::api: required of HTTP and WebSocket callers, not of pbctl's
// command line (whose CliOnly param stands in for it).
TEST(JsonSurface, ApiRequiredParamIsRequiredOffTheCommandLine) {
    const auto e = refusal(json::object());
    EXPECT_EQ(e.details().value("pointer", ""), "/doc");
    EXPECT_EQ(e.details().value("expected", ""), "an object");
    EXPECT_NO_THROW(
        validate_args(strict_op(), json::object(), k_now, NameStyle::flag, Surface::cli));
}

// Text is bounded at 4,096 characters; a token only by tokens.max_size,
// which the token service checks, so no surface refuses a token earlier.
TEST(JsonSurface, TokenParamsLiftTheTextBound) {
    const std::string long_text(k_max_text_chars + 1, 'a');
    EXPECT_EQ(refusal(with_doc({{"text", long_text}})).details().value("pointer", ""), "/text");
    const std::string token(6000, 'a');
    EXPECT_EQ(validate_args(strict_op(), with_doc({{"token", token}}), k_now).at("token"), token);
    // The op table marks every token-valued param so.
    for (const auto& [op, param] : {std::pair{"tokens.verify", "token"},
                                    {"tokens.inspect", "token"},
                                    {"tokens.refresh", "refresh_token"},
                                    {"tokens.revoke", "token"}}) {
        SCOPED_TRACE(op);
        const auto* p = runtime::op_table().find(op)->find_param(param);
        ASSERT_NE(p, nullptr);
        EXPECT_EQ(p->bound, TextBound::token);
        EXPECT_FALSE(schema::param_schema(*p).contains("maxLength"));
    }
}

// from_text, what a query string's values go through: text read as the
// param's JSON form, anything else left for validation to judge.
TEST(FromText, ReadsQueryTextAsTheJsonForm) {
    const auto op = strict_op();
    EXPECT_EQ(from_text(*op.find_param("count"), "5"), 5);
    EXPECT_EQ(from_text(*op.find_param("count"), "five"), "five");
    EXPECT_EQ(from_text(*op.find_param("flag"), "true"), true);
    EXPECT_EQ(from_text(*op.find_param("perms"), "read"), json::array({"read"}));
    EXPECT_EQ(from_text(*op.find_param("perms"), json::array({"a", "b"})), json::array({"a", "b"}));
    EXPECT_EQ(from_text(*op.find_param("text"), "5"), "5");
    // A duration's digits: milliseconds in a URL, no unit (refused) on a command line.
    EXPECT_EQ(from_url_text(*op.find_param("wait"), "250"), 250);
    EXPECT_EQ(from_text(*op.find_param("wait"), "250"), "250");
    EXPECT_EQ(from_url_text(*op.find_param("wait"), "15m"), "15m");
}

// Every op table entry with CliOnly params turns them into its JSON form
// (from_cli), and none of them reaches the request schema.
TEST(JsonSurface, CliOnlyParamsHaveAConversionAndNoSchema) {
    int cli_only = 0;
    for (const auto& op : runtime::op_table().all()) {
        const auto request = schema::request_schema(op);
        for (const auto& p : op.params) {
            if (p.cli_only == CliOnly::yes) {
                ++cli_only;
                EXPECT_TRUE(static_cast<bool>(op.from_cli)) << op.name << " " << p.name;
                EXPECT_FALSE(request["properties"].contains(p.name)) << op.name << " " << p.name;
            }
        }
    }
    EXPECT_GE(cli_only, 4);  // tokens.issue claim, bans.import file and format, actions.run arg
}

// tokens.issue's pbctl words end as the one claims object, merged over --claims.
TEST(JsonSurface, ClaimWordsBecomeTheClaimsObject) {
    const auto& op = *runtime::op_table().find("tokens.issue");
    const auto args = validate_args(op,
                                    {{"sub", "u"},
                                     {"claim", json::array({"role=x", "n=3", R"(tags=["a"])"})},
                                     {"claims", R"({"role":"y","keep":true})"}},
                                    k_now, NameStyle::flag, Surface::cli);
    const auto sent = op.from_cli(args);
    EXPECT_FALSE(sent.contains("claim"));
    EXPECT_EQ(sent.at("claims"), (json{{"role", "x"}, {"n", 3}, {"tags", {"a"}}, {"keep", true}}));
    // What pbctl sends is the JSON form: it validates on the strict surface.
    EXPECT_NO_THROW(validate_args(op, sent, k_now));
    const auto bad = pb::test::error_of([&] {
        op.from_cli(validate_args(op, {{"sub", "u"}, {"claim", "novalue"}}, k_now, NameStyle::flag,
                                  Surface::cli));
    });
    EXPECT_NE(std::string(bad.what()).find("--claim"), std::string::npos);
}

}  // namespace
}  // namespace pb::ops
