#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "common/core/clock.hpp"

namespace pb {

// The longest duration pb accepts anywhere (TTLs, expiries given as a duration,
// bans, grace periods, config): 100 years of 365 days. Longer is refused, so
// now + a duration can never overflow.
inline constexpr std::int64_t k_max_duration_ms = 100LL * 365 * 86'400'000;
inline constexpr std::string_view k_max_duration_text = "36500d (100 years)";
// The latest point in time pb accepts (the last instant RFC 3339 can write);
// the earliest is the Unix epoch.
inline constexpr UnixMillis k_max_instant_ms = 253'402'300'799'999;
inline constexpr std::string_view k_max_instant_text = "9999-12-31T23:59:59.999Z";

// A parsed duration or point in time, or why there is none.
struct TimeValue {
    std::optional<std::int64_t> ms;  // milliseconds, or Unix ms for a point in time
    // Well-formed but beyond k_max_duration_ms (a duration) or outside the epoch
    // to k_max_instant_ms (a point in time); ms is then nullopt.
    bool out_of_range = false;
};

// Parses a duration such as "30d", "1h30m", "90s", "250ms" or "2w" into
// milliseconds. Units: ms, s, m, h, d, w. Anything else (a bare number, an
// empty string, a sign) is malformed; more than k_max_duration_ms, however
// many digits, is out of range.
TimeValue read_duration(std::string_view text);
// read_duration's value: nullopt when malformed or out of range.
std::optional<std::int64_t> parse_duration(std::string_view text);

// True when `ms` is a duration pb accepts: 0 to k_max_duration_ms.
bool duration_in_range(std::int64_t ms);
// True when `t` is a point in time pb accepts: 0 (the epoch) to k_max_instant_ms.
bool instant_in_range(UnixMillis t);
// now + duration_ms, or nullopt when either is out of range or the sum is past
// k_max_instant_ms. Never overflows.
std::optional<UnixMillis> instant_after(UnixMillis now, std::int64_t duration_ms);

// Formats milliseconds compactly, largest units first: 5400000 -> "1h30m".
std::string format_duration(std::int64_t ms);

// Parses an RFC 3339 timestamp ("2026-01-02T03:04:05Z", fractional seconds and
// "+01:00" offsets allowed) into Unix milliseconds.
std::optional<UnixMillis> parse_rfc3339(std::string_view text);

// Formats Unix milliseconds as RFC 3339 UTC ("2026-01-02T03:04:05Z", with
// ".123" when the milliseconds are not zero).
std::string format_rfc3339(UnixMillis t);
// A point in time in pb's JSON answers: its RFC 3339 text, or null for none
// ("never", "not yet").
nlohmann::json time_or_null(const std::optional<UnixMillis>& t);

// Parses a point in time given either as a duration from `now` ("30d") or as an
// RFC 3339 timestamp; out of range as read_duration and instant_in_range say.
TimeValue read_time(std::string_view text, UnixMillis now);
// read_time's value: nullopt when malformed or out of range.
std::optional<UnixMillis> parse_time_or_duration(std::string_view text, UnixMillis now);

}  // namespace pb
