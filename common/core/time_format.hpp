#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/core/clock.hpp"

namespace pb {

// Parses a duration such as "30d", "1h30m", "90s", "250ms" or "2w" into
// milliseconds. Units: ms, s, m, h, d, w. Returns nullopt on anything else,
// including a bare number, an empty string, a negative value or an overflow.
std::optional<std::int64_t> parse_duration(std::string_view text);

// Formats milliseconds compactly, largest units first: 5400000 -> "1h30m".
std::string format_duration(std::int64_t ms);

// Parses an RFC 3339 timestamp ("2026-01-02T03:04:05Z", fractional seconds and
// "+01:00" offsets allowed) into Unix milliseconds.
std::optional<UnixMillis> parse_rfc3339(std::string_view text);

// Formats Unix milliseconds as RFC 3339 UTC ("2026-01-02T03:04:05Z", with
// ".123" when the milliseconds are not zero).
std::string format_rfc3339(UnixMillis t);

// Parses a point in time given either as a duration from `now` ("30d") or as an
// RFC 3339 timestamp.
std::optional<UnixMillis> parse_time_or_duration(std::string_view text, UnixMillis now);

}  // namespace pb
