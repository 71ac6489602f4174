#include "common/tokens/json_scan.hpp"

#include <random>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/tokens/jwt.hpp"

namespace pb::tokens {
namespace {

TEST(JsonScanTest, AcceptsObjectsOfEveryValueKind) {
    EXPECT_TRUE(is_strict_object("{}"));
    EXPECT_TRUE(is_strict_object(" \t\r\n{ } \n"));
    EXPECT_TRUE(is_strict_object(
        R"({"s":"x\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00","n":-0.5e+10,"z":0,"t":true,"f":false,)"
        R"("u":null,"a":[1,[2,{}],{"k":[]}],"o":{"p":{"q":"é😀"}}})"));
}

TEST(JsonScanTest, RefusesWhatRfc8259Refuses) {
    for (const char* bad : {
             "",
             "[]",
             "\"x\"",
             "1",
             "{",
             "}",
             "{\"a\"}",
             "{\"a\":}",
             "{\"a\":1,}",
             "{,}",
             "{\"a\":1}x",
             "{\"a\":1}{}",
             "{a:1}",
             "{'a':1}",
             "{\"a\":01}",
             "{\"a\":-}",
             "{\"a\":1.}",
             "{\"a\":.5}",
             "{\"a\":1e}",
             "{\"a\":+1}",
             "{\"a\":tru}",
             "{\"a\":nul}",
             "{\"a\":[1,]}",
             "{\"a\":[1 2]}",
             "{\"a\":\"\\x\"}",
             "{\"a\":\"\\u12\"}",
             "{\"a\":\"\\ud800\"}",
             "{\"a\":\"\\udc00\"}",
             "{\"a\":\"\\ud800\\u0041\"}",
             "{\"a\":\"tab\there\"}",
             "{\"a\":\"unterminated}",
         }) {
        EXPECT_FALSE(is_strict_object(bad)) << bad;
    }
}

TEST(JsonScanTest, RefusesInvalidUtf8InStrings) {
    for (const std::string& bad : {
             std::string("{\"a\":\"\xC0\x80\"}"),          // overlong NUL
             std::string("{\"a\":\"\xED\xA0\x80\"}"),      // an encoded surrogate
             std::string("{\"a\":\"\xF5\x80\x80\x80\"}"),  // past U+10FFFF
             std::string("{\"a\":\"\x80\"}"),              // a lone continuation byte
             std::string("{\"a\":\"\xE2\x82\"}"),          // cut short
         }) {
        EXPECT_FALSE(is_strict_object(bad)) << bad.size() << " bytes";
    }
}

TEST(JsonScanTest, RefusesDuplicateNamesAtAnyDepthAfterUnescaping) {
    EXPECT_FALSE(is_strict_object(R"({"a":1,"a":2})"));
    EXPECT_FALSE(is_strict_object(R"({"a":1,"\u0061":2})"));
    EXPECT_FALSE(is_strict_object(R"({"\u0061":1,"\u0061":2})"));
    EXPECT_FALSE(is_strict_object(R"({"x":{"b":1,"b":2}})"));
    EXPECT_FALSE(is_strict_object(R"({"x":[{"b":1,"b":2}]})"));
    // The same name in different objects is fine.
    EXPECT_TRUE(is_strict_object(R"({"b":1,"x":{"b":2},"y":[{"b":3},{"b":4}]})"));
}

TEST(JsonScanTest, RefusesDuplicatesInLargeObjects) {
    std::string many = "{";
    for (int i = 0; i < 100; ++i) {
        many += "\"m" + std::to_string(i) + "\":" + std::to_string(i) + ",";
    }
    EXPECT_TRUE(is_strict_object(many.substr(0, many.size() - 1) + "}"));
    EXPECT_FALSE(is_strict_object(many + "\"m\\u00350\":0}"));  // "m50" once more
}

TEST(JsonScanTest, LimitsNestingDepth) {
    const auto nested = [](int depth) {
        return std::string("{\"a\":") + std::string(static_cast<std::size_t>(depth - 1), '[') +
               std::string(static_cast<std::size_t>(depth - 1), ']') + "}";
    };
    EXPECT_TRUE(is_strict_object(nested(64)));
    EXPECT_FALSE(is_strict_object(nested(65)));
}

TEST(JsonScanTest, ReadsMembersElementsAndValues) {
    const std::string doc = R"({"s":"a\nb\u00e9","n":1.5e3,"a":["x",2,{"y":[]}],"o":{"k":1}})";
    ASSERT_TRUE(is_strict_object(doc));
    std::vector<std::string> names;
    for_each_member(doc, [&](std::string_view name, JsonSlice value) {
        names.emplace_back(name);
        if (name == "s") {
            EXPECT_EQ(json_string_value(value), "a\nb\xC3\xA9");
            EXPECT_TRUE(json_string_is(value, "a\nb\xC3\xA9"));
            EXPECT_FALSE(json_string_is(value, "a\nb"));
        } else if (name == "n") {
            EXPECT_EQ(json_number_value(value), 1500.0);
        } else if (name == "a") {
            int n = 0;
            for_each_element(value, [&](JsonSlice) { ++n; });
            EXPECT_EQ(n, 3);
        } else {
            EXPECT_EQ(value.kind, JsonKind::object);
            EXPECT_EQ(value.text, R"({"k":1})");
        }
    });
    EXPECT_EQ(names, (std::vector<std::string>{"s", "n", "a", "o"}));
}

TEST(JsonScanTest, NumbersTooLargeForADoubleAreNotNumbers) {
    const std::string doc = R"({"exp":1e400})";
    ASSERT_TRUE(is_strict_object(doc));
    for_each_member(
        doc, [](std::string_view, JsonSlice v) { EXPECT_FALSE(json_number_value(v).has_value()); });
}

TEST(JsonScanTest, RegisteredClaimsAreFoundUnderEscapedNames) {
    const std::string doc = R"({"\u0065xp":123,"aud":["a","b"],"x":{"exp":1}})";
    ASSERT_TRUE(is_strict_object(doc));
    const auto c = read_claims(doc);
    ASSERT_TRUE(c.exp.has_value());
    EXPECT_EQ(json_number_value(*c.exp), 123.0);
    EXPECT_EQ(c.aud->kind, JsonKind::array);
    EXPECT_FALSE(c.iss.has_value());
}

// Members written (colons outside strings) and members a parser kept: they
// differ exactly when a name is repeated.
std::size_t members_written(std::string_view text) {
    std::size_t n = 0;
    bool in_string = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (in_string) {
            if (text[i] == '\\') {
                ++i;
            } else if (text[i] == '"') {
                in_string = false;
            }
        } else if (text[i] == '"') {
            in_string = true;
        } else if (text[i] == ':') {
            ++n;
        }
    }
    return n;
}

std::size_t members_kept(const nlohmann::json& j) {
    std::size_t n = j.is_object() ? j.size() : 0;
    if (j.is_structured()) {
        for (const auto& v : j) {
            n += members_kept(v);
        }
    }
    return n;
}

// The scanner must accept exactly what a full parser accepts (plus the
// duplicate rule): random byte edits of a real payload, checked against
// nlohmann::json. The seed is fixed, so a failure reproduces.
TEST(JsonScanTest, AgreesWithAFullParserOnMutatedPayloads) {
    const std::string base =
        R"({"iss":"pb","sub":"user-1","aud":["api","x"],"exp":1700000000,"iat":1.5e9,)"
        R"("jti":"a\u00e9\ud83d\ude00","perms":["keys:read",{"n":null,"t":true,"f":false}]})";
    const std::string alphabet = "{}[]\",:\\u0123456789.eE+-tfnl ax\x80\xC3\xA9";
    std::mt19937 rng(20261123);
    int accepted = 0;
    for (int i = 0; i < 20000; ++i) {
        std::string doc = base;
        const int edits = 1 + static_cast<int>(rng() % 3);
        for (int e = 0; e < edits; ++e) {
            const auto pos = rng() % doc.size();
            const char c = alphabet[rng() % alphabet.size()];
            switch (rng() % 3) {
                case 0:
                    doc[pos] = c;
                    break;
                case 1:
                    doc.insert(doc.begin() + static_cast<std::ptrdiff_t>(pos), c);
                    break;
                default:
                    doc.erase(pos, 1);
                    break;
            }
        }
        const auto parsed = nlohmann::json::parse(doc, nullptr, false);
        const bool parser_accepts = !parsed.is_discarded() && parsed.is_object();
        const bool unique = parser_accepts && members_kept(parsed) == members_written(doc);
        ASSERT_EQ(is_strict_object(doc), parser_accepts && unique) << doc;
        accepted += parser_accepts && unique ? 1 : 0;
    }
    EXPECT_GT(accepted, 100);  // the edits also produce valid documents
}

}  // namespace
}  // namespace pb::tokens
