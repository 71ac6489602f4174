#include <cstdint>
#include <string>

#include <gtest/gtest.h>

#include "common/core/time_format.hpp"

namespace pb {
namespace {

constexpr std::int64_t k_s = 1000;
constexpr std::int64_t k_m = 60 * k_s;
constexpr std::int64_t k_h = 60 * k_m;
constexpr std::int64_t k_d = 24 * k_h;

// Every documented unit and a combination parse to milliseconds.
TEST(ParseDuration, AcceptsEveryUnitAndCombinations) {
    EXPECT_EQ(parse_duration("30d"), 30 * k_d);
    EXPECT_EQ(parse_duration("1h30m"), k_h + 30 * k_m);
    EXPECT_EQ(parse_duration("250ms"), 250);
    EXPECT_EQ(parse_duration("2w"), 14 * k_d);
    EXPECT_EQ(parse_duration("90s"), 90 * k_s);
    EXPECT_EQ(parse_duration("1d2h3m4s5ms"), k_d + 2 * k_h + 3 * k_m + 4 * k_s + 5);
    EXPECT_EQ(parse_duration("0s"), 0);
}

// "ms" is milliseconds, not minutes followed by garbage.
TEST(ParseDuration, MsIsNotMinutes) {
    EXPECT_EQ(parse_duration("5ms"), 5);
    EXPECT_EQ(parse_duration("5m"), 5 * k_m);
}

// Empty text, bare numbers, negatives, unknown units and stray text are rejected.
TEST(ParseDuration, RejectsMalformedText) {
    for (const char* bad : {"", "10", "-1s", "1x", "s", "1h30", "1.5h", " 1s", "1s ", "1S",
                            "1h-30m", "+1s", "1 s", "ms", "d1"}) {
        SCOPED_TRACE(bad);
        EXPECT_FALSE(parse_duration(bad).has_value());
    }
}

// A value beyond 36500d is out of range, however many digits it has: never
// wrapped, and told apart from a malformed text.
TEST(ParseDuration, RefusesBeyondTheMaximum) {
    for (const char* big :
         {"9223372036854775808ms", "99999999999999999999s", "106751991168d", "106751991167d",
          "106751991167d1d", "9223372036854775807ms", "9223372036854775807ms1ms", "36501d",
          "36500d1ms", "5215w", "3153600000001ms", "1d36500d"}) {
        SCOPED_TRACE(big);
        const auto v = read_duration(big);
        EXPECT_FALSE(v.ms.has_value());
        EXPECT_TRUE(v.out_of_range);
        EXPECT_FALSE(parse_duration(big).has_value());
    }
    // A huge number with a bad unit is malformed, not out of range.
    EXPECT_FALSE(read_duration("99999999999999999999x").out_of_range);
    EXPECT_FALSE(read_duration("106751991167d-1s").out_of_range);
}

// The maximum itself parses, in any spelling.
TEST(ParseDuration, AcceptsTheMaximum) {
    EXPECT_EQ(k_max_duration_ms, 36500 * k_d);
    EXPECT_EQ(parse_duration("36500d"), k_max_duration_ms);
    EXPECT_EQ(parse_duration("36499d24h"), k_max_duration_ms);
    EXPECT_EQ(parse_duration("3153600000000ms"), k_max_duration_ms);
    EXPECT_EQ(parse_duration("36499d23h59m59s999ms"), k_max_duration_ms - 1);
}

// Malformed texts are malformed, not out of range: empty, signs, garbage units.
TEST(ParseDuration, MalformedIsNotOutOfRange) {
    for (const char* bad :
         {"", "-1s", "-9223372036854775808ms", "+1s", "1y", "1 d", "d", "1dd", "1e3s", "0x10s"}) {
        SCOPED_TRACE(bad);
        const auto v = read_duration(bad);
        EXPECT_FALSE(v.ms.has_value());
        EXPECT_FALSE(v.out_of_range);
    }
}

// now + a duration is checked: nothing past 9999-12-31T23:59:59.999Z, no overflow.
TEST(InstantAfter, IsCheckedAtTheEdges) {
    const UnixMillis now = 1'700'000'000'000;
    EXPECT_EQ(instant_after(now, k_max_duration_ms), now + k_max_duration_ms);
    EXPECT_EQ(instant_after(now, 0), now);
    EXPECT_FALSE(instant_after(now, k_max_duration_ms + 1).has_value());
    EXPECT_FALSE(instant_after(now, -1).has_value());
    EXPECT_FALSE(instant_after(now, INT64_MAX).has_value());
    EXPECT_FALSE(instant_after(INT64_MAX, 1).has_value());
    EXPECT_FALSE(instant_after(-1, 1).has_value());
    EXPECT_EQ(instant_after(k_max_instant_ms - 5, 5), k_max_instant_ms);
    EXPECT_FALSE(instant_after(k_max_instant_ms - 5, 6).has_value());
    EXPECT_EQ(format_rfc3339(k_max_instant_ms), k_max_instant_text);
}

// A point in time: a duration from now or RFC 3339, within the epoch to year 9999.
TEST(ReadTime, RefusesOutOfRange) {
    const UnixMillis now = 1'700'000'000'000;
    EXPECT_EQ(read_time("36500d", now).ms, now + k_max_duration_ms);
    EXPECT_TRUE(read_time("106751991167d", now).out_of_range);
    EXPECT_TRUE(read_time("36501d", now).out_of_range);
    EXPECT_EQ(read_time("9999-12-31T23:59:59.999Z", now).ms, k_max_instant_ms);
    EXPECT_TRUE(read_time("9999-12-31T23:59:59.999-01:00", now).out_of_range);
    EXPECT_TRUE(read_time("1969-12-31T23:59:59Z", now).out_of_range);
    EXPECT_EQ(read_time("1970-01-01T00:00:00Z", now).ms, 0);
    EXPECT_FALSE(read_time("soon", now).out_of_range);
    EXPECT_FALSE(read_time("soon", now).ms.has_value());
    EXPECT_FALSE(read_time("", now).ms.has_value());
}

// Formatting is compact, largest units first, with days rather than weeks.
TEST(FormatDuration, IsCompactLargestUnitFirst) {
    EXPECT_EQ(format_duration(0), "0s");
    EXPECT_EQ(format_duration(k_h + 30 * k_m), "1h30m");
    EXPECT_EQ(format_duration(250), "250ms");
    EXPECT_EQ(format_duration(30 * k_d), "30d");
    EXPECT_EQ(format_duration(14 * k_d), "14d");
    EXPECT_EQ(format_duration(k_d + k_h + k_m + k_s + 1), "1d1h1m1s1ms");
    EXPECT_EQ(format_duration(-90 * k_s), "-1m30s");
}

// parse_duration(format_duration(x)) == x for non-negative values.
TEST(FormatDuration, RoundTripsThroughParse) {
    for (std::int64_t ms :
         {std::int64_t{0}, std::int64_t{1}, std::int64_t{999}, k_s, 61 * k_s, k_h + 1, 7 * k_d,
          400 * k_d + 3 * k_h + 17, std::int64_t{123456789012}, k_max_duration_ms}) {
        SCOPED_TRACE(ms);
        EXPECT_EQ(parse_duration(format_duration(ms)), ms);
    }
}

}  // namespace
}  // namespace pb
