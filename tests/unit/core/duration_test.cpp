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

// A value that does not fit in int64 milliseconds is rejected, not wrapped.
TEST(ParseDuration, RejectsOverflow) {
    EXPECT_FALSE(parse_duration("9223372036854775808ms").has_value());
    EXPECT_FALSE(parse_duration("99999999999999999999s").has_value());
    EXPECT_FALSE(parse_duration("106751991168d").has_value());
    EXPECT_FALSE(parse_duration("106751991167d1d").has_value());
    EXPECT_FALSE(parse_duration("9223372036854775807ms1ms").has_value());
    // The largest representable values still parse.
    EXPECT_EQ(parse_duration("9223372036854775807ms"), INT64_MAX);
    EXPECT_EQ(parse_duration("106751991167d"), 106751991167 * k_d);
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
          400 * k_d + 3 * k_h + 17, std::int64_t{123456789012}}) {
        SCOPED_TRACE(ms);
        EXPECT_EQ(parse_duration(format_duration(ms)), ms);
    }
}

}  // namespace
}  // namespace pb
