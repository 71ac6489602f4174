#include "common/tokens/json_scan.hpp"

#include <random>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/core/base64.hpp"
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

// Keeps every top-level member the check reports.
struct Collect final : MemberSink {
    std::vector<std::pair<std::string, JsonSlice>> members;
    void member(std::string_view raw, bool, JsonSlice value) override {
        members.emplace_back(std::string(raw), value);
    }
};

TEST(JsonScanTest, ReportsTopLevelMembersWithTheirValues) {
    const std::string doc =
        R"({"s":"a\nb\u00e9", "n" : 1.5e3,"a":["x",2,{"y":[]}],"o":{"k":1},"t":true,"z":null})";
    Collect c;
    ASSERT_TRUE(is_strict_object(doc, &c));
    ASSERT_EQ(c.members.size(), 6u);
    EXPECT_EQ(c.members[0].first, "s");
    EXPECT_EQ(json_string_value(c.members[0].second), "a\nb\xC3\xA9");
    EXPECT_TRUE(json_string_is(c.members[0].second, "a\nb\xC3\xA9"));
    EXPECT_FALSE(json_string_is(c.members[0].second, "a\nb"));
    EXPECT_EQ(json_number_value(c.members[1].second), 1500.0);
    int elements = 0;
    for_each_element(c.members[2].second, [&](JsonSlice) { ++elements; });
    EXPECT_EQ(elements, 3);
    EXPECT_EQ(c.members[3].second.kind, JsonKind::object);
    EXPECT_EQ(c.members[3].second.text, R"({"k":1})");
    EXPECT_EQ(c.members[4].second.kind, JsonKind::boolean);
    EXPECT_EQ(c.members[5].second.kind, JsonKind::null);
}

// The grammar of every JSON door (common/core/json_parse): a number is an
// int64, a uint64 or a finite double, or the document is refused.
TEST(JsonScanTest, NumbersOutOfRangeAreRefused) {
    for (const char* bad : {R"({"exp":1e400})", R"({"exp":-1e400})",
                            R"({"x":[18446744073709551616]})", R"({"x":-9223372036854775809})"}) {
        EXPECT_FALSE(is_strict_object(bad)) << bad;
    }
    EXPECT_FALSE(is_strict_object(std::string("{}\0garbage", 10)));
    for (const char* good : {R"({"exp":1e300})", R"({"x":18446744073709551615})",
                             R"({"x":-9223372036854775808})", R"({"x":1e-400})"}) {
        EXPECT_TRUE(is_strict_object(good)) << good;
    }
}

TEST(JsonScanTest, RegisteredClaimsAreFoundUnderEscapedNames) {
    const std::string token =
        base64url_encode(R"({"alg":"HS256","\u006bid":"k1"})") + "." +
        base64url_encode(R"({"\u0065xp":123,"aud":["a","b"],"x":{"exp":1}})") + ".c2ln";
    DecodedJwt jwt;
    ASSERT_FALSE(decode_jwt(token, 8192, jwt).has_value());
    EXPECT_EQ(jwt.alg, "HS256");
    EXPECT_EQ(jwt.kid, "k1");
    ASSERT_TRUE(jwt.registered.exp.has_value());
    EXPECT_EQ(json_number_value(*jwt.registered.exp), 123.0);
    EXPECT_EQ(jwt.registered.aud->kind, JsonKind::array);
    EXPECT_FALSE(jwt.registered.iss.has_value());
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
