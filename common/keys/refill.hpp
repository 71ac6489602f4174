#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/core/clock.hpp"

namespace pb::keys {

// A refill of `remaining` (a key's or an identity's credits): back to
// `amount` once each UTC day, or once each month on `day` (1..31; a month
// without that day refills on its last). Applied lazily, by the first use of
// a period, in the same conditional UPDATE as that use: no cron job, and two
// daemons on one database refill once (last_refill_at before the period's
// start is the condition).
struct Refill {
    enum class Period { day, month };
    std::int64_t amount = 0;
    Period period = Period::day;
    int day = 1;  // month only

    // "1000/day", "5000/month@15" (the text parse_refill reads).
    std::string text() const;
    // The start (UTC, ms) of the period that holds `now`: today's midnight,
    // or this month's refill day (last month's when `now` is before it).
    UnixMillis period_start(UnixMillis now) const;
    // True when a counter last refilled at `last` (nullopt: never) is due at `now`.
    bool due(std::optional<UnixMillis> last, UnixMillis now) const {
        return !last || *last < period_start(now);
    }
};

// "N/day", "N/month" (day 1) or "N/month@DAY" (DAY 1..31), N from 1 to
// 10^15; "off" or "" is nullopt. Error(invalid_argument, param `what`).
std::optional<Refill> parse_refill(std::string_view text, std::string_view what);

}  // namespace pb::keys
