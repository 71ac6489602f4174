#include "common/core/rate.hpp"

#include <array>
#include <charconv>
#include <utility>

#include "common/core/error.hpp"
#include "common/core/time_format.hpp"

namespace pb {
namespace {

constexpr std::int64_t k_second = 1000;
constexpr std::int64_t k_minute = 60 * k_second;
constexpr std::int64_t k_hour = 60 * k_minute;
constexpr std::int64_t k_day = 24 * k_hour;

constexpr std::array<std::pair<std::string_view, std::int64_t>, 12> k_units{{
    {"s", k_second},
    {"sec", k_second},
    {"second", k_second},
    {"m", k_minute},
    {"min", k_minute},
    {"minute", k_minute},
    {"h", k_hour},
    {"hour", k_hour},
    {"d", k_day},
    {"day", k_day},
    {"ms", 1},
    {"w", 7 * k_day},
}};

// Largest count and period accepted: far beyond any real policy, small enough
// that interval and burst arithmetic in microseconds cannot overflow.
constexpr std::int64_t k_max_count = 1'000'000'000;
constexpr std::int64_t k_max_period = 366 * k_day;
constexpr std::int64_t k_max_window_us = k_max_period * 1000;

}  // namespace

std::int64_t Rate::interval_us() const {
    return std::max<std::int64_t>(1, period_ms * 1000 / count);
}

std::string Rate::rate_text() const {
    for (const auto& [unit, ms] : k_units) {
        if (ms == period_ms && unit.size() <= 3 && unit != "sec" && unit != "ms") {
            return std::to_string(count) + "/" + std::string(unit == "m" ? "min" : unit);
        }
    }
    return std::to_string(count) + "/" + format_duration(period_ms);
}

nlohmann::json Rate::to_json() const {
    return {{"rate", rate_text()}, {"burst", burst}};
}

std::optional<Rate> parse_rate(std::string_view rate, std::int64_t burst, std::string_view what) {
    if (rate.empty() || rate == "off") {
        return std::nullopt;
    }
    auto fail = [&](const std::string& why, std::string_view got) -> Error {
        return Error(
            ErrorCode::invalid_argument,
            std::string(what) + ": " + why + ", got \"" + std::string(got.substr(0, 64)) + "\"",
            {{"param", what}});
    };
    const auto slash = rate.find('/');
    if (slash == std::string_view::npos) {
        throw fail("expected a rate like 100/min, 10/s or off", rate);
    }
    const auto count_text = rate.substr(0, slash);
    const auto unit_text = rate.substr(slash + 1);
    Rate p;
    const auto [ptr, ec] =
        std::from_chars(count_text.data(), count_text.data() + count_text.size(), p.count);
    if (ec != std::errc() || ptr != count_text.data() + count_text.size() || p.count < 1 ||
        p.count > k_max_count) {
        throw fail("the count must be a whole number from 1 to 1000000000", rate);
    }
    for (const auto& [unit, ms] : k_units) {
        if (unit == unit_text) {
            p.period_ms = ms;
        }
    }
    if (p.period_ms == 0) {
        p.period_ms = parse_duration(unit_text).value_or(0);
    }
    if (p.period_ms < 1 || p.period_ms > k_max_period) {
        throw fail("the period must be s, min, h, d or a duration up to 366d", rate);
    }
    if (burst < 0 || burst > k_max_count) {
        throw fail("the burst must be from 0 (same as the count) to 1000000000",
                   std::to_string(burst));
    }
    p.burst = burst == 0 ? p.count : burst;
    if (p.burst > k_max_window_us / p.interval_us()) {
        throw fail("the burst times the interval must not exceed 366 days", std::to_string(burst));
    }
    return p;
}

std::optional<Rate> parse_rate_limit(std::string_view text, std::string_view what) {
    const auto comma = text.find(',');
    if (comma == std::string_view::npos) {
        return parse_rate(text, 0, what);
    }
    const auto burst_text = text.substr(comma + 1);
    std::int64_t burst = -1;
    const auto [ptr, ec] =
        std::from_chars(burst_text.data(), burst_text.data() + burst_text.size(), burst);
    if (ec != std::errc() || ptr != burst_text.data() + burst_text.size() || burst < 1) {
        throw Error(ErrorCode::invalid_argument,
                    std::string(what) + ": expected RATE or RATE,BURST like 600/min,50, got \"" +
                        std::string(text.substr(0, 64)) + "\"",
                    {{"param", what}});
    }
    return parse_rate(text.substr(0, comma), burst, what);
}

}  // namespace pb
