#include "common/keys/refill.hpp"

#include <chrono>

#include "common/core/error.hpp"

namespace pb::keys {
namespace {

using namespace std::chrono;

[[noreturn]] void bad(std::string_view what, std::string_view text) {
    throw Error(ErrorCode::invalid_argument,
                std::string(what) +
                    ": expected N/day, N/month or N/month@DAY (DAY 1 to 31), got \"" +
                    std::string(text.substr(0, 100)) + "\"",
                {{"param", what}});
}

std::optional<std::int64_t> number(std::string_view text, std::int64_t max) {
    if (text.empty() || text.size() > 16) {
        return std::nullopt;
    }
    std::int64_t n = 0;
    for (const char c : text) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        n = n * 10 + (c - '0');
    }
    if (n < 1 || n > max) {
        return std::nullopt;
    }
    return n;
}

UnixMillis millis_of(const year_month_day& d) {
    return duration_cast<milliseconds>(sys_days(d).time_since_epoch()).count();
}

// `day` of the month of `ym`, or its last day when it has fewer.
year_month_day clamped(year_month ym, int day) {
    const auto last = year_month_day_last(ym.year(), month_day_last(ym.month())).day();
    const auto d = std::min(static_cast<unsigned>(day), static_cast<unsigned>(last));
    return year_month_day(ym.year(), ym.month(), std::chrono::day(d));
}

}  // namespace

std::string Refill::text() const {
    if (period == Period::day) {
        return std::to_string(amount) + "/day";
    }
    std::string out = std::to_string(amount);
    out += "/month";
    if (day != 1) {
        out += '@';
        out += std::to_string(day);
    }
    return out;
}

UnixMillis Refill::period_start(UnixMillis now) const {
    const auto today = floor<days>(sys_time<milliseconds>(milliseconds(now)));
    if (period == Period::day) {
        return duration_cast<milliseconds>(today.time_since_epoch()).count();
    }
    const year_month_day ymd(today);
    const year_month ym(ymd.year(), ymd.month());
    const auto this_month = clamped(ym, day);
    if (sys_days(this_month) <= today) {
        return millis_of(this_month);
    }
    return millis_of(clamped(ym - months(1), day));
}

std::optional<Refill> parse_refill(std::string_view text, std::string_view what) {
    if (text.empty() || text == "off") {
        return std::nullopt;
    }
    const auto slash = text.find('/');
    if (slash == std::string_view::npos) {
        bad(what, text);
    }
    Refill r;
    const auto amount = number(text.substr(0, slash), 1'000'000'000'000'000);
    if (!amount) {
        bad(what, text);
    }
    r.amount = *amount;
    auto unit = text.substr(slash + 1);
    if (unit == "day") {
        r.period = Refill::Period::day;
        return r;
    }
    r.period = Refill::Period::month;
    if (unit == "month") {
        return r;
    }
    if (unit.substr(0, 6) != "month@") {
        bad(what, text);
    }
    const auto day = number(unit.substr(6), 31);
    if (!day) {
        bad(what, text);
    }
    r.day = static_cast<int>(*day);
    return r;
}

}  // namespace pb::keys
