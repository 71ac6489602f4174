#include "common/limits/ban_io.hpp"

#include <gtest/gtest.h>

#include "common/core/error.hpp"
#include "common/core/time_format.hpp"
#include "tests/support/errors.hpp"

namespace pb::limits {
namespace {

constexpr UnixMillis k_now = 1'700'000'000'000;

// The message of the invalid_argument error parsing `text` gives.
std::string import_error(std::string_view text) {
    return pb::test::error_message_of(ErrorCode::invalid_argument, [&] {
        parse_ban_rows(text, BanFileFormat::automatic, k_now);
    });
}

// CSV without a header reads target,expires_at,reason; quoting and comments work.
TEST(BanIo, CsvWithoutHeader) {
    const auto rows = parse_ban_rows(
        "# bans from the incident\n"
        "203.0.113.7,4h,credential stuffing\n"
        "\n"
        "2001:db8::/32,,\"abusive, range \"\"A\"\"\"\r\n"
        "user:mallory,2023-11-15T00:00:00Z\n"
        "key:abc\n",
        BanFileFormat::automatic, k_now);
    ASSERT_EQ(rows.size(), 4U);
    EXPECT_EQ(rows[0].target.text(), "203.0.113.7");
    EXPECT_EQ(rows[0].expires_at, k_now + 4 * 3'600'000);
    EXPECT_EQ(rows[0].reason, "credential stuffing");
    EXPECT_EQ(rows[1].target.text(), "2001:db8::/32");
    EXPECT_FALSE(rows[1].expires_at.has_value());
    EXPECT_EQ(rows[1].reason, "abusive, range \"A\"");
    EXPECT_EQ(rows[2].expires_at, parse_rfc3339("2023-11-15T00:00:00Z"));
    EXPECT_EQ(rows[3].target.text(), "key:abc");
    EXPECT_EQ(rows[3].origin, BanOrigin::manual);
}

// A header names the columns in any order; unknown columns are ignored.
TEST(BanIo, CsvWithHeader) {
    const auto rows = parse_ban_rows(
        "reason,target,for,origin,note\n"
        "spam,10.0.0.0/8,30m,auto,x\n",
        BanFileFormat::csv, k_now);
    ASSERT_EQ(rows.size(), 1U);
    EXPECT_EQ(rows[0].target.text(), "10.0.0.0/8");
    EXPECT_EQ(rows[0].expires_at, k_now + 30 * 60'000);
    EXPECT_EQ(rows[0].origin, BanOrigin::auto_ban);
    EXPECT_EQ(rows[0].reason, "spam");
}

// JSON takes what bans export prints, and the bare array.
TEST(BanIo, JsonAsExported) {
    const auto rows = parse_ban_rows(R"({"bans":[
        {"id":1,"target":"203.0.113.7","kind":"ip","reason":"r","origin":"manual",
         "created_by":"local:x","created_at":"2023-11-14T00:00:00Z",
         "expires_at":"2023-11-15T00:00:00Z","active":true},
        {"target":"user:eve","expires_at":null,"origin":"auto","strikes":3},
        {"target":"key:k","for":"1h"},
        {"target":"10.0.0.1","expires_at":1800000000000}]})",
                                     BanFileFormat::automatic, k_now);
    ASSERT_EQ(rows.size(), 4U);
    EXPECT_EQ(rows[0].expires_at, parse_rfc3339("2023-11-15T00:00:00Z"));
    EXPECT_EQ(rows[1].origin, BanOrigin::auto_ban);
    EXPECT_FALSE(rows[1].expires_at.has_value());
    EXPECT_EQ(rows[2].expires_at, k_now + 3'600'000);
    EXPECT_EQ(rows[3].expires_at, 1'800'000'000'000);
    EXPECT_EQ(parse_ban_rows(R"([{"target":"1.2.3.4"}])", BanFileFormat::json, k_now).size(), 1U);
}

// Bad rows name their row and what is wrong; nothing is returned.
TEST(BanIo, BadRowsAreNamed) {
    EXPECT_EQ(import_error("1.2.3.4\n300.1.1.1\n"),
              "row 2: target: \"300.1.1.1\" is not an IPv4 or IPv6 address");
    EXPECT_EQ(import_error("10.0.0.0/33\n"),
              "row 1: target: \"10.0.0.0/33\": prefix length must be 0..32 for IPv4");
    EXPECT_EQ(import_error("1.2.3.4\n1.2.3.4/32\n"), "row 2: 1.2.3.4 is also on row 1");
    EXPECT_EQ(import_error("1.2.3.4,soon\n"),
              "row 1: expires_at: expected an RFC 3339 time, a duration like 4h, or nothing for "
              "a permanent ban, got \"soon\"");
    EXPECT_EQ(import_error("1.2.3.4,,a,b\n"),
              "row 1: more cells than columns (3); quote a reason that holds a comma");
    EXPECT_EQ(import_error("1.2.3.4,,\"open\n"), "row 1: a quoted cell is not closed");
    EXPECT_EQ(import_error("{\"bans\":[{\"target\":\"1.2.3.4\",\"origin\":\"robot\"}]}"),
              "row 1: origin: expected manual or auto, got \"robot\"");
    EXPECT_EQ(import_error("{\"bans\":[{\"reason\":\"x\"}]}"),
              "row 1: expected an object with a \"target\" text");
    EXPECT_EQ(import_error("{\"bans\":"),
              "ban file: not valid JSON at byte 9: unexpected end of input; expected '[', '{', "
              "or a literal");
    EXPECT_EQ(import_error("{\"bans\":" + std::string(1'000'000, '[')),
              "ban file: JSON nested deeper than 64 levels");
    EXPECT_EQ(import_error("{\"bans\":[],\"bans\":[]}"), "ban file: duplicate member \"bans\"");
    EXPECT_EQ(import_error("{\"other\":1}"),
              "expected {\"bans\":[…]} (as bans export prints) or a JSON array of bans");
}

}  // namespace
}  // namespace pb::limits
