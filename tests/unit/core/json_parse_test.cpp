#include "common/core/json_parse.hpp"

#include <gtest/gtest.h>

#include "common/core/error.hpp"
#include "tests/support/errors.hpp"

namespace pb {
namespace {

using nlohmann::json;

std::string nested(std::size_t levels, std::string_view inner = "1") {
    return std::string(levels, '[') + std::string(inner) + std::string(levels, ']');
}

// The refusal's message, or "" when the text parses.
std::string refusal(std::string_view text, JsonLimits limits = {}) {
    const auto e = pb::test::thrown_error([&] { parse_json(text, "body", limits); });
    if (!e) {
        return "";
    }
    EXPECT_EQ(e->code(), ErrorCode::invalid_argument) << e->what();
    EXPECT_EQ(std::string(e->what()).find("json.exception"), std::string::npos) << e->what();
    return e->what();
}

TEST(ParseJson, ReadsOrdinaryDocuments) {
    const auto j =
        parse_json(R"( {"a":[1,-2,3.5,"x",true,null,{}],"b":18446744073709551615} )", "body");
    EXPECT_EQ(j["a"][1], -2);
    EXPECT_EQ(j["a"][3], "x");
    EXPECT_EQ(j["b"].get<std::uint64_t>(), 18446744073709551615ULL);
    EXPECT_EQ(parse_json("-9223372036854775808", "body").get<std::int64_t>(), INT64_MIN);
    EXPECT_EQ(parse_json(R"("caf\u00e9 \ud83d\ude00")", "body"), "café 😀");
    EXPECT_EQ(parse_json("1e-400", "body"), 0.0);  // underflow is a number, zero
}

// Depth counts every array and object; the limit is reached, never passed.
TEST(ParseJson, DepthAtTheLimitPassesAndOneMoreIsRefused) {
    EXPECT_EQ(refusal(nested(64)), "");
    EXPECT_EQ(refusal(nested(65)), "body: JSON nested deeper than 64 levels");
    EXPECT_EQ(refusal(nested(8), {.max_depth = 8}), "");
    EXPECT_EQ(refusal(nested(9), {.max_depth = 8}), "body: JSON nested deeper than 8 levels");
    std::string objects;
    for (int i = 0; i < 64; ++i) {
        objects += R"({"a":)";
    }
    objects += "1" + std::string(64, '}');
    EXPECT_EQ(refusal(objects), "");
    EXPECT_EQ(refusal(R"({"a":)" + objects + "}"), "body: JSON nested deeper than 64 levels");
    try {
        parse_json(nested(65), "body");
    } catch (const Error& e) {
        EXPECT_EQ(e.details()["max_depth"], 64);
    }
}

// Deep enough to run any recursive reader off its stack: refused at once.
TEST(ParseJson, AMillionLevelsAreRefusedWithoutRecursion) {
    EXPECT_EQ(refusal(nested(1'000'000)), "body: JSON nested deeper than 64 levels");
    EXPECT_EQ(refusal(R"({"key":)" + std::string(1'000'000, '[')),
              "body: JSON nested deeper than 64 levels");
    std::string objects;
    for (int i = 0; i < 1'000'000; ++i) {
        objects += R"({"a":)";
    }
    EXPECT_EQ(refusal(objects), "body: JSON nested deeper than 64 levels");
    EXPECT_TRUE(parse_json_or_discarded(nested(1'000'000)).is_discarded());
    EXPECT_FALSE(parse_json_or_discarded(nested(200), {k_max_stored_json_depth}).is_discarded());
}

// The last one would win in nlohmann's parse: {"permissions":["read"],"permissions":["admin"]}.
TEST(ParseJson, DuplicateMembersAreRefusedAtEveryDepth) {
    EXPECT_EQ(refusal(R"({"permissions":["read"],"permissions":["admin"]})"),
              R"(body: duplicate member "permissions")");
    EXPECT_NE(refusal(R"({"a":{"b":[{"c":1,"d":2,"c":3}]}})"), "");
    // Compared after unescaping.
    EXPECT_EQ(refusal(R"({"ab":1,"a\u0062":2})"), R"(body: duplicate member "ab")");
    // The same name in sibling objects is no duplicate.
    EXPECT_EQ(refusal(R"([{"a":1},{"a":2}])"), "");
    EXPECT_TRUE(parse_json_or_discarded(R"({"a":1,"a":1})").is_discarded());
}

TEST(ParseJson, NumbersOutOfRangeAreRefused) {
    EXPECT_NE(refusal("1e400").find("number out of range"), std::string::npos);
    EXPECT_NE(refusal("-1e400").find("number out of range"), std::string::npos);
    EXPECT_NE(refusal(R"({"n":[1e309]})").find("number out of range"), std::string::npos);
    EXPECT_EQ(refusal("18446744073709551616"),
              "body: number \"18446744073709551616\" is out of range");
    EXPECT_EQ(refusal("-9223372036854775809"),
              "body: number \"-9223372036854775809\" is out of range");
    EXPECT_EQ(refusal("1.8446744073709552e19"), "");  // a double, said so
}

// Bytes after the value, a NUL among them, are no part of a JSON text.
TEST(ParseJson, BytesAfterTheValueAreRefused) {
    EXPECT_EQ(refusal(std::string("{}\0garbage", 10)),
              "body: not valid JSON at byte 3: a NUL byte");
    EXPECT_EQ(refusal(std::string("{}\0", 3)), "body: not valid JSON at byte 3: a NUL byte");
    EXPECT_TRUE(parse_json_or_discarded(std::string("{}\0", 3)).is_discarded());
    EXPECT_EQ(refusal("{} {}"),
              "body: not valid JSON at byte 4: unexpected bytes after the JSON "
              "value");
    EXPECT_EQ(refusal("{}  \n\t "), "");
    EXPECT_NE(refusal(std::string("{\"a\":\"x\0y\"}", 11)), "");
    EXPECT_NE(refusal(""), "");
}

TEST(ParseJson, AByteOrderMarkIsRefused) {
    EXPECT_EQ(refusal("\xEF\xBB\xBF{}"),
              "body: starts with a byte order mark (send UTF-8 without one)");
    EXPECT_TRUE(parse_json_or_discarded("\xEF\xBB\xBF{}").is_discarded());
}

// Ill-formed UTF-8 in a value or a name; the message quotes none of it.
TEST(ParseJson, InvalidUtf8IsRefused) {
    for (const char* bad : {"\"\xff\"", "\"\xc0\xaf\"", "\"\xe0\x80\xaf\"", "\"\xed\xa0\x80\"",
                            "\"\xf4\x90\x80\x80\"", "\"\xc3\"", "{\"\xfe\":1}", "\"a\xc3(\""}) {
        const auto why = refusal(bad);
        EXPECT_NE(why.find("UTF-8"), std::string::npos) << why;
        EXPECT_EQ(why.find('\xff'), std::string::npos);
    }
}

// The refusal never echoes the input (a body may carry a key or a password).
TEST(ParseJson, RefusalsQuoteNoInput) {
    const auto why = refusal(R"({"key":"pb_live_SECRET" x})");
    EXPECT_EQ(why.find("SECRET"), std::string::npos) << why;
    EXPECT_NE(why.find("not valid JSON at byte"), std::string::npos) << why;
}

TEST(Utf8, ChecksStringsAndNamesInATree) {
    EXPECT_TRUE(is_utf8(std::string_view("caf\xc3\xa9")));
    EXPECT_FALSE(is_utf8(std::string_view("caf\xc3")));
    EXPECT_FALSE(is_utf8(std::string_view("\xed\xbf\xbf")));  // a surrogate
    EXPECT_TRUE(is_utf8_tree(json{{"a", {"b", 1}}}));
    EXPECT_FALSE(is_utf8_tree(json{{"a", {"b", "\xff"}}}));
    EXPECT_FALSE(is_utf8_tree(json{{"\xff", 1}}));
}

}  // namespace
}  // namespace pb
