#include <string>

#include <gtest/gtest.h>

#include "common/core/error.hpp"
#include "common/core/time_format.hpp"
#include "common/ops/validate.hpp"
#include "common/runtime/op_table.hpp"
#include "tests/support/errors.hpp"

namespace pb::ops {
namespace {

using nlohmann::json;

constexpr UnixMillis k_now = 1'700'000'000'000;
constexpr std::int64_t k_day = 86'400'000;

// An op with one param of every type, built here so the test does not depend on
// what a domain happens to declare.
Op every_type_op() {
    return Op{
        .name = "test.every",
        .summary = "Every param type",
        .params =
            {
                Param{.name = "id", .help = "h", .positional = Positional::yes},
                Param{.name = "text", .help = "h"},
                Param{.name = "count", .type = ParamType::integer, .help = "h", .min = 1},
                Param{.name = "flag", .type = ParamType::boolean, .help = "h"},
                Param{.name = "wait", .type = ParamType::duration, .help = "h"},
                Param{.name = "expires", .type = ParamType::time, .help = "h"},
                Param{.name = "tags", .type = ParamType::string_list, .help = "h", .flag = "tag"},
                Param{.name = "meta", .type = ParamType::json_object, .help = "h"},
                Param{.name = "color", .help = "h", .choices = {"red", "green"}},
                Param{.name = "max_uses", .type = ParamType::integer, .help = "h"},
            },
        .route = {"POST", "/v1/test"},
    };
}

// The Error that validating `raw` throws (fails the test if none).
Error rejection(const Op& op, const json& raw, NameStyle style = NameStyle::field,
                Surface surface = Surface::json) {
    return pb::test::error_of([&] { validate_args(op, raw, k_now, style, surface); });
}

// Validates `raw` from `surface`, then checks that the canonical output is the
// JSON form: it validates to itself on the strict surface.
json canonical(const Op& op, const json& raw, Surface surface = Surface::json) {
    const auto once = validate_args(op, raw, k_now, NameStyle::field, surface);
    EXPECT_EQ(validate_args(op, once, k_now), once) << "not idempotent for " << raw.dump();
    return once;
}

// Text spellings are pbctl's (and a query's, an action's): read on the cli surface.
json from_cli(const Op& op, const json& raw) {
    return canonical(op, raw, Surface::cli);
}

// string: text stays text.
TEST(ValidateArgs, StringIsKeptAsText) {
    const auto op = every_type_op();
    EXPECT_EQ(canonical(op, {{"text", "hello"}}).at("text"), "hello");
    EXPECT_EQ(canonical(op, {{"text", ""}}).at("text"), "");
    EXPECT_EQ(rejection(op, {{"text", 5}}).code(), ErrorCode::invalid_argument);
}

// integer: numbers, and from text decimal strings, become numbers; anything else is refused.
TEST(ValidateArgs, IntegerAcceptsNumbersAndDigitStrings) {
    const auto op = every_type_op();
    EXPECT_EQ(canonical(op, {{"count", 12}}).at("count"), 12);
    EXPECT_EQ(from_cli(op, {{"count", "12"}}).at("count"), 12);
    EXPECT_TRUE(from_cli(op, {{"count", "12"}}).at("count").is_number_integer());
    for (const json& bad :
         {json("12x"), json(""), json("1.5"), json(1.5), json(true), json(" 3")}) {
        SCOPED_TRACE(bad.dump());
        EXPECT_EQ(rejection(op, {{"count", bad}}).code(), ErrorCode::invalid_argument);
        EXPECT_EQ(rejection(op, {{"count", bad}}, NameStyle::flag, Surface::cli).code(),
                  ErrorCode::invalid_argument);
    }
}

// integer: a value under the param's minimum is refused with the bound in the message.
TEST(ValidateArgs, IntegerRespectsMin) {
    const auto op = every_type_op();
    EXPECT_EQ(canonical(op, {{"count", 1}}).at("count"), 1);
    const auto e = rejection(op, {{"count", 0}});
    EXPECT_EQ(std::string(e.what()), "count: expected an integer of at least 1, got \"0\"");
    EXPECT_EQ(e.details().at("param"), "count");
    // The default minimum is 0: negatives are refused unless a param says otherwise.
    EXPECT_EQ(rejection(op, {{"max_uses", -1}}).code(), ErrorCode::invalid_argument);
}

// boolean: true/false and their usual spellings become JSON booleans.
TEST(ValidateArgs, BooleanAcceptsUsualSpellings) {
    const auto op = every_type_op();
    for (const json& yes : {json(true), json("true"), json("1"), json("yes")}) {
        EXPECT_EQ(from_cli(op, {{"flag", yes}}).at("flag"), true) << yes.dump();
    }
    for (const json& no : {json(false), json("false"), json("0"), json("no")}) {
        EXPECT_EQ(from_cli(op, {{"flag", no}}).at("flag"), false) << no.dump();
    }
    EXPECT_EQ(rejection(op, {{"flag", "maybe"}}, NameStyle::flag, Surface::cli).code(),
              ErrorCode::invalid_argument);
    EXPECT_EQ(rejection(op, {{"flag", 2}}).code(), ErrorCode::invalid_argument);
}

// duration: text like 1h30m or a non-negative number of ms becomes integer ms.
TEST(ValidateArgs, DurationBecomesMilliseconds) {
    const auto op = every_type_op();
    EXPECT_EQ(canonical(op, {{"wait", "1h30m"}}).at("wait"), 5'400'000);
    EXPECT_EQ(canonical(op, {{"wait", 250}}).at("wait"), 250);
    EXPECT_EQ(canonical(op, {{"wait", 0}}).at("wait"), 0);
    for (const json& bad : {json("soon"), json("10"), json(-5), json("-1s"), json(1.5)}) {
        SCOPED_TRACE(bad.dump());
        EXPECT_EQ(rejection(op, {{"wait", bad}}).code(), ErrorCode::invalid_argument);
    }
}

// time: "30d" from now, RFC 3339 and Unix ms become Unix ms; null and "never" stay null.
TEST(ValidateArgs, TimeBecomesUnixMillis) {
    const auto op = every_type_op();
    EXPECT_EQ(canonical(op, {{"expires", "30d"}}).at("expires"), k_now + 30 * k_day);
    EXPECT_EQ(canonical(op, {{"expires", "2026-01-02T03:04:05Z"}}).at("expires"),
              1'767'323'045'000);
    EXPECT_EQ(canonical(op, {{"expires", 1'767'323'045'000}}).at("expires"), 1'767'323'045'000);
    EXPECT_TRUE(from_cli(op, {{"expires", "never"}}).at("expires").is_null());
    EXPECT_EQ(from_cli(op, {{"expires", "1767323045000"}}).at("expires"), 1'767'323'045'000);
    EXPECT_TRUE(canonical(op, {{"expires", nullptr}}).at("expires").is_null());
    EXPECT_EQ(rejection(op, {{"expires", "2026-02-30T00:00:00Z"}}).code(),
              ErrorCode::invalid_argument);
}

// A duration beyond 36500d, as text or as a number of ms (int64 max, beyond
// int64), is refused naming the parameter and the maximum; the maximum passes.
TEST(ValidateArgs, DurationBeyondTheMaximumNamesIt) {
    const auto op = every_type_op();
    EXPECT_EQ(canonical(op, {{"wait", "36500d"}}).at("wait"), k_max_duration_ms);
    EXPECT_EQ(canonical(op, {{"wait", k_max_duration_ms}}).at("wait"), k_max_duration_ms);
    for (const json& big :
         {json("106751991167d"), json("36501d"), json(k_max_duration_ms + 1), json(INT64_MAX),
          json(std::uint64_t{18'000'000'000'000'000'000ULL}), json("99999999999999999999s")}) {
        SCOPED_TRACE(big.dump());
        const auto e = rejection(op, {{"wait", big}}, NameStyle::flag);
        EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
        EXPECT_EQ(e.details().at("param"), "wait");
        const std::string msg = e.what();
        EXPECT_TRUE(msg.starts_with("--wait: expected a duration of at most 36500d")) << msg;
    }
}

// A time beyond 9999-12-31T23:59:59.999Z (or before the epoch), as a duration
// from now, RFC 3339 or Unix ms, is refused naming the parameter and the limit.
TEST(ValidateArgs, TimeBeyondTheMaximumNamesIt) {
    const auto op = every_type_op();
    EXPECT_EQ(canonical(op, {{"expires", "9999-12-31T23:59:59.999Z"}}).at("expires"),
              k_max_instant_ms);
    EXPECT_EQ(canonical(op, {{"expires", "36500d"}}).at("expires"), k_now + k_max_duration_ms);
    const auto message = [&](const json& v) {
        const auto e = rejection(op, {{"expires", v}}, NameStyle::flag, Surface::cli);
        EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
        EXPECT_EQ(e.details().at("param"), "expires");
        return std::string(e.what());
    };
    for (const json& far : {json(k_max_instant_ms + 1), json(INT64_MAX), json(-1),
                            json(std::uint64_t{18'000'000'000'000'000'000ULL}),
                            json("99999999999999999999"), json("1969-12-31T23:59:59Z")}) {
        SCOPED_TRACE(far.dump());
        const auto msg = message(far);
        EXPECT_TRUE(
            msg.starts_with("--expires: expected a time from 1970-01-01T00:00:00Z to "
                            "9999-12-31T23:59:59.999Z"))
            << msg;
    }
    for (const json& long_ : {json("106751991167d"), json("36501d")}) {
        SCOPED_TRACE(long_.dump());
        const auto msg = message(long_);
        EXPECT_TRUE(msg.starts_with("--expires: expected a duration of at most 36500d")) << msg;
    }
}

// string_list: one string is a list of one; lists must hold non-empty strings.
TEST(ValidateArgs, StringListAcceptsOneOrMany) {
    const auto op = every_type_op();
    EXPECT_EQ(from_cli(op, {{"tags", "a"}}).at("tags"), json::array({"a"}));
    EXPECT_EQ(canonical(op, {{"tags", json::array({"a", "b"})}}).at("tags"),
              json::array({"a", "b"}));
    EXPECT_EQ(canonical(op, {{"tags", json::array()}}).at("tags"), json::array());
    EXPECT_EQ(rejection(op, {{"tags", json::array({"a", 1})}}).code(), ErrorCode::invalid_argument);
    EXPECT_EQ(rejection(op, {{"tags", json::array({"a", ""})}}).code(),
              ErrorCode::invalid_argument);
    EXPECT_EQ(rejection(op, {{"tags", 3}}).code(), ErrorCode::invalid_argument);
}

// json_object: an object or JSON text of an object becomes an object.
TEST(ValidateArgs, JsonObjectAcceptsObjectOrText) {
    const auto op = every_type_op();
    EXPECT_EQ(canonical(op, {{"meta", {{"team", "ops"}}}}).at("meta"), (json{{"team", "ops"}}));
    EXPECT_EQ(from_cli(op, {{"meta", R"({"team":"ops","n":1})"}}).at("meta"),
              (json{{"team", "ops"}, {"n", 1}}));
    for (const json& bad : {json("[1,2]"), json("{not json"), json(5), json::array()}) {
        SCOPED_TRACE(bad.dump());
        EXPECT_EQ(rejection(op, {{"meta", bad}}, NameStyle::flag, Surface::cli).code(),
                  ErrorCode::invalid_argument);
    }
}

// Choices: only the listed values pass, and the message lists them.
TEST(ValidateArgs, ChoicesLimitAString) {
    const auto op = every_type_op();
    EXPECT_EQ(canonical(op, {{"color", "red"}}).at("color"), "red");
    const auto e = rejection(op, {{"color", "blue"}});
    EXPECT_EQ(std::string(e.what()), "color: expected one of red, green, got \"blue\"");
}

// Everything at once validates, and the canonical form is a fixed point.
TEST(ValidateArgs, CanonicalFormIsAFixedPoint) {
    const auto op = every_type_op();
    const json raw{
        {"id", "x"},        {"text", "t"},     {"count", "3"},   {"flag", "yes"},
        {"wait", "2h"},     {"expires", "1w"}, {"tags", "solo"}, {"meta", R"({"a":[1]})"},
        {"color", "green"}, {"max_uses", "0"}};
    const auto out = from_cli(op, raw);
    EXPECT_EQ(out.size(), raw.size());
}

// An argument the op does not declare is refused, naming it.
TEST(ValidateArgs, UnknownArgumentIsRejected) {
    const auto op = every_type_op();
    const auto e = rejection(op, {{"text", "t"}, {"colour", "red"}});
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("\"colour\""), std::string::npos) << e.what();
    EXPECT_EQ(e.details().at("param"), "colour");
}

// Arguments must be an object.
TEST(ValidateArgs, NonObjectArgumentsAreRejected) {
    const auto op = every_type_op();
    for (const json& bad : {json::array(), json("x"), json(nullptr)}) {
        EXPECT_EQ(rejection(op, bad).code(), ErrorCode::invalid_argument) << bad.dump();
    }
}

// A required param that is missing (or null) is refused in the caller's vocabulary.
TEST(ValidateArgs, RequiredMissingIsRejected) {
    const auto& op = *runtime::op_table().find("keys.create");
    auto e = rejection(op, json::object());
    EXPECT_EQ(std::string(e.what()), "owner is required");
    EXPECT_EQ(e.details().at("param"), "owner");
    e = rejection(op, {{"owner", nullptr}}, NameStyle::flag);
    EXPECT_EQ(std::string(e.what()), "--owner is required");
    const auto& show = *runtime::op_table().find("keys.show");
    EXPECT_EQ(std::string(rejection(show, json::object(), NameStyle::flag).what()),
              "ID is required");
}

// Defaults fill absent params; absent params without a default stay absent.
TEST(ValidateArgs, DefaultsFillAbsentParams) {
    const auto& op = *runtime::op_table().find("keys.create");
    const auto out = validate_args(op, {{"owner", "ci"}}, k_now);
    EXPECT_EQ(out.at("name"), "");
    EXPECT_EQ(out.at("permissions"), json::array());
    EXPECT_EQ(out.at("metadata"), json::object());
    EXPECT_FALSE(out.contains("expires"));
    EXPECT_FALSE(out.contains("remaining"));
}

// The documented CLI message for a bad --expires.
TEST(ValidateArgs, FlagStyleMessageForBadExpiry) {
    const auto& op = *runtime::op_table().find("keys.create");
    const auto e = rejection(op, {{"owner", "ci"}, {"expires", "soon"}}, NameStyle::flag);
    EXPECT_EQ(std::string(e.what()),
              "--expires: expected a duration like 30d or an RFC 3339 time, got \"soon\"");
    EXPECT_EQ(e.details().at("param"), "expires");
    const auto field = rejection(op, {{"owner", "ci"}, {"expires", "soon"}}, NameStyle::field);
    EXPECT_EQ(std::string(field.what()),
              "expires: expected a duration like 30d or an RFC 3339 time, got \"soon\"");
}

// Labels: --flag (custom flag name, _ as -) for options, upper case for positionals.
TEST(ParamLabel, FollowsTheNameStyle) {
    const auto op = every_type_op();
    EXPECT_EQ(param_label(*op.find_param("expires"), NameStyle::flag), "--expires");
    EXPECT_EQ(param_label(*op.find_param("tags"), NameStyle::flag), "--tag");
    EXPECT_EQ(param_label(*op.find_param("max_uses"), NameStyle::flag), "--max-uses");
    EXPECT_EQ(param_label(*op.find_param("id"), NameStyle::flag), "ID");
    EXPECT_EQ(param_label(*op.find_param("max_uses"), NameStyle::field), "max_uses");
    EXPECT_EQ(param_label(*op.find_param("id"), NameStyle::field), "id");
    EXPECT_EQ(param_label(*op.find_param("tags"), NameStyle::field), "tags");
}

// The flag label appears in messages for every kind of rejection.
TEST(ParamLabel, AppearsInFlagStyleMessages) {
    const auto op = every_type_op();
    const auto e = rejection(op, {{"tags", 3}}, NameStyle::flag);
    EXPECT_TRUE(std::string(e.what()).starts_with("--tag: ")) << e.what();
    const auto p = rejection(op, {{"max_uses", "x"}}, NameStyle::flag);
    EXPECT_TRUE(std::string(p.what()).starts_with("--max-uses: ")) << p.what();
}

// A secret param's value is never echoed, whatever made it invalid.
TEST(ValidateArgs, SecretValuesAreNeverEchoed) {
    const std::string secret = "pb_s3cr3tS3CR3Ts3cr3t";
    for (auto type :
         {ParamType::string, ParamType::integer, ParamType::boolean, ParamType::duration,
          ParamType::time, ParamType::string_list, ParamType::json_object}) {
        SCOPED_TRACE(static_cast<int>(type));
        Param p{.name = "token", .type = type, .help = "h", .secret = Secret::yes};
        if (type == ParamType::string) {
            p.choices = {"only-this"};
        }
        const Op op{.name = "test.secret", .summary = "s", .params = {p}};
        const json bad = type == ParamType::string_list ? json::array({secret, 1}) : json(secret);
        for (auto style : {NameStyle::field, NameStyle::flag}) {
            const auto e = rejection(op, {{"token", bad}}, style);
            EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
            EXPECT_EQ(std::string(e.what()).find("s3cr3t"), std::string::npos) << e.what();
            EXPECT_EQ(e.details().dump().find("s3cr3t"), std::string::npos);
        }
    }
}

// A secret that is too long is refused without echoing it either.
TEST(ValidateArgs, OverlongSecretIsNotEchoed) {
    const Op op{.name = "test.secret",
                .summary = "s",
                .params = {Param{.name = "key", .help = "h", .secret = Secret::yes}}};
    const auto e = rejection(op, {{"key", "s3cr3t" + std::string(5000, 'x')}});
    EXPECT_EQ(std::string(e.what()).find("s3cr3t"), std::string::npos) << e.what();
}

// Plain values are echoed (shortened when long) so people see what was wrong.
TEST(ValidateArgs, PlainValuesAreEchoedShortened) {
    const auto op = every_type_op();
    const auto e = rejection(op, {{"count", std::string(200, '9') + "x"}});
    const std::string msg = e.what();
    EXPECT_NE(msg.find(std::string(80, '9')), std::string::npos) << msg;
    EXPECT_EQ(msg.find(std::string(81, '9')), std::string::npos) << msg;
}

// redact_args replaces secret params only.
TEST(RedactArgs, ReplacesSecretParamsOnly) {
    const auto& op = *runtime::op_table().find("keys.verify");
    const auto out = redact_args(op, {{"key", "pb_secret"}});
    EXPECT_EQ(out.at("key"), "<redacted>");
    const auto& create = *runtime::op_table().find("keys.create");
    const json args{{"owner", "ci"}, {"name", "deploy"}};
    EXPECT_EQ(redact_args(create, args), args);
}

}  // namespace
}  // namespace pb::ops
