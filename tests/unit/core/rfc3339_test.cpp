#include <cstdint>

#include <gtest/gtest.h>

#include "common/core/time_format.hpp"

namespace pb {
namespace {

// 2026-01-02T03:04:05Z, computed independently (Python's datetime).
constexpr UnixMillis k_t = 1'767'323'045'000;

// UTC timestamps with Z parse to Unix milliseconds.
TEST(ParseRfc3339, ParsesUtc) {
    EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:00Z"), 0);
    EXPECT_EQ(parse_rfc3339("2026-01-02T03:04:05Z"), k_t);
    EXPECT_EQ(parse_rfc3339("2000-01-01T00:00:00Z"), 946'684'800'000);
}

// The separator and zone letter may be lowercase, and a space may replace T.
TEST(ParseRfc3339, AcceptsLowercaseAndSpaceSeparator) {
    EXPECT_EQ(parse_rfc3339("2026-01-02t03:04:05z"), k_t);
    EXPECT_EQ(parse_rfc3339("2026-01-02 03:04:05Z"), k_t);
}

// Offsets are applied: local time minus offset gives UTC.
TEST(ParseRfc3339, AppliesOffsets) {
    EXPECT_EQ(parse_rfc3339("2026-01-02T04:04:05+01:00"), k_t);
    EXPECT_EQ(parse_rfc3339("2026-01-01T21:34:05-05:30"), k_t);
    EXPECT_EQ(parse_rfc3339("2026-01-02T03:04:05+00:00"), k_t);
    EXPECT_EQ(parse_rfc3339("2026-01-02T03:04:05-00:00"), k_t);
}

// Fractional seconds give milliseconds; digits beyond them are dropped.
TEST(ParseRfc3339, ReadsFractionalSeconds) {
    EXPECT_EQ(parse_rfc3339("2026-01-02T03:04:05.5Z"), k_t + 500);
    EXPECT_EQ(parse_rfc3339("2026-01-02T03:04:05.123Z"), k_t + 123);
    EXPECT_EQ(parse_rfc3339("2026-01-02T03:04:05.123999999Z"), k_t + 123);
    EXPECT_EQ(parse_rfc3339("2026-01-02T03:04:05.007+01:00"), k_t + 7 - 3'600'000);
}

// Leap days exist only in leap years.
TEST(ParseRfc3339, KnowsLeapYears) {
    EXPECT_EQ(parse_rfc3339("2024-02-29T12:00:00Z"), 1'709'208'000'000);
    EXPECT_FALSE(parse_rfc3339("2025-02-29T12:00:00Z").has_value());
    EXPECT_FALSE(parse_rfc3339("1900-02-29T12:00:00Z").has_value());
}

// Dates and times that do not exist are rejected.
TEST(ParseRfc3339, RejectsImpossibleDates) {
    for (const char* bad : {"2026-02-30T00:00:00Z", "2026-04-31T00:00:00Z", "2026-13-01T00:00:00Z",
                            "2026-00-10T00:00:00Z", "2026-01-00T00:00:00Z", "2026-01-02T24:00:00Z",
                            "2026-01-02T03:60:00Z", "2026-01-02T03:04:61Z",
                            "2026-01-02T03:04:05+24:00", "2026-01-02T03:04:05+01:60"}) {
        SCOPED_TRACE(bad);
        EXPECT_FALSE(parse_rfc3339(bad).has_value());
    }
}

// Garbage, truncated input, a missing zone and trailing text are rejected.
TEST(ParseRfc3339, RejectsGarbage) {
    for (const char* bad :
         {"", "garbage", "2026-01-02", "2026-01-02T03:04:05", "2026-01-02T03:04Z",
          "2026-01-02T03:04:05Zjunk", "2026-01-02T03:04:05.Z", "2026-1-02T03:04:05Z",
          "2026/01/02T03:04:05Z", "2026-01-02T03:04:05+1:00", "2026-01-02T03:04:05+0100",
          " 2026-01-02T03:04:05Z", "30d"}) {
        SCOPED_TRACE(bad);
        EXPECT_FALSE(parse_rfc3339(bad).has_value());
    }
}

// Formatting is UTC with Z and always three digits of milliseconds: pb's one
// time format, in every answer, event and export.
TEST(FormatRfc3339, IsUtcWithMillis) {
    EXPECT_EQ(format_rfc3339(0), "1970-01-01T00:00:00.000Z");
    EXPECT_EQ(format_rfc3339(k_t), "2026-01-02T03:04:05.000Z");
    EXPECT_EQ(format_rfc3339(k_t + 120), "2026-01-02T03:04:05.120Z");
    EXPECT_EQ(format_rfc3339(k_t + 7), "2026-01-02T03:04:05.007Z");
    EXPECT_EQ(format_rfc3339(-1), "1969-12-31T23:59:59.999Z");
}

// parse_rfc3339(format_rfc3339(t)) == t, before and after the epoch.
TEST(FormatRfc3339, RoundTripsThroughParse) {
    for (UnixMillis t : {UnixMillis{0}, UnixMillis{1}, UnixMillis{-1}, k_t, k_t + 999,
                         UnixMillis{1'709'208'000'000}, UnixMillis{-86'400'001},
                         UnixMillis{253'402'300'799'999}}) {
        SCOPED_TRACE(t);
        EXPECT_EQ(parse_rfc3339(format_rfc3339(t)), t);
    }
}

// A point in time is either a duration from now or an absolute timestamp.
TEST(ParseTimeOrDuration, AcceptsDurationFromNowOrTimestamp) {
    const UnixMillis now = 1'700'000'000'000;
    EXPECT_EQ(parse_time_or_duration("30d", now), now + 30LL * 86'400'000);
    EXPECT_EQ(parse_time_or_duration("2026-01-02T03:04:05Z", now), k_t);
    EXPECT_FALSE(parse_time_or_duration("soon", now).has_value());
    EXPECT_FALSE(parse_time_or_duration("", now).has_value());
}

// A duration that would take the instant past what Unix ms hold is refused,
// not wrapped into the past (found by fuzz/rate_fuzz: the issue 21 --ttl).
TEST(ParseTimeOrDuration, RefusesAnInstantBeyondTheRange) {
    const UnixMillis now = 1'767'225'600'000;
    EXPECT_FALSE(parse_time_or_duration("106751991167d", now).has_value());
    EXPECT_TRUE(parse_time_or_duration("36500d", now).has_value());
}

}  // namespace
}  // namespace pb
