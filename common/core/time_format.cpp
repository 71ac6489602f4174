#include "common/core/time_format.hpp"

#include <array>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <limits>

#include <nlohmann/json.hpp>

namespace pb {
namespace {

struct Unit {
    std::string_view suffix;
    std::int64_t ms;
};

// Longest suffix first so "ms" wins over "m".
constexpr std::array k_units{
    Unit{"ms", 1},        Unit{"s", 1000},       Unit{"m", 60'000},
    Unit{"h", 3'600'000}, Unit{"d", 86'400'000}, Unit{"w", 604'800'000},
};

bool read_int(std::string_view& s, std::size_t digits, int& out) {
    if (s.size() < digits) {
        return false;
    }
    int v = 0;
    for (std::size_t i = 0; i < digits; ++i) {
        if (!std::isdigit(static_cast<unsigned char>(s[i]))) {
            return false;
        }
        v = v * 10 + (s[i] - '0');
    }
    s.remove_prefix(digits);
    out = v;
    return true;
}

bool expect(std::string_view& s, std::string_view chars) {
    if (s.empty() || chars.find(s.front()) == std::string_view::npos) {
        return false;
    }
    s.remove_prefix(1);
    return true;
}

}  // namespace

TimeValue read_duration(std::string_view text) {
    if (text.empty()) {
        return {};
    }
    std::int64_t total = 0;
    bool too_long = false;  // keep reading: a malformed text is malformed, however long
    while (!text.empty()) {
        if (text.front() < '0' || text.front() > '9') {
            return {};
        }
        std::int64_t value = 0;
        const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (ec == std::errc::result_out_of_range) {
            too_long = true;
        } else if (ec != std::errc()) {
            return {};
        }
        text.remove_prefix(static_cast<std::size_t>(ptr - text.data()));
        const Unit* unit = nullptr;
        for (const auto& u : k_units) {
            if (text.starts_with(u.suffix)) {
                unit = &u;
                break;
            }
        }
        if (unit == nullptr) {
            return {};
        }
        text.remove_prefix(unit->suffix.size());
        // total <= k_max_duration_ms, so this neither overflows nor lets a sum wrap.
        if (too_long || value > (k_max_duration_ms - total) / unit->ms) {
            too_long = true;
            continue;
        }
        total += value * unit->ms;
    }
    if (too_long) {
        return {.ms = std::nullopt, .out_of_range = true};
    }
    return {.ms = total};
}

std::optional<std::int64_t> parse_duration(std::string_view text) {
    return read_duration(text).ms;
}

bool duration_in_range(std::int64_t ms) {
    return ms >= 0 && ms <= k_max_duration_ms;
}

bool instant_in_range(UnixMillis t) {
    return t >= 0 && t <= k_max_instant_ms;
}

std::optional<UnixMillis> instant_after(UnixMillis now, std::int64_t duration_ms) {
    if (!instant_in_range(now) || !duration_in_range(duration_ms) ||
        duration_ms > k_max_instant_ms - now) {
        return std::nullopt;
    }
    return now + duration_ms;
}

std::string format_duration(std::int64_t ms) {
    if (ms == 0) {
        return "0s";
    }
    std::string out;
    if (ms < 0) {
        out = "-";
        ms = -ms;
    }
    for (auto it = k_units.rbegin(); it != k_units.rend(); ++it) {
        if (it->suffix == "w") {
            continue;  // days read better than weeks for expiries
        }
        if (ms >= it->ms) {
            out += std::to_string(ms / it->ms) + std::string(it->suffix);
            ms %= it->ms;
        }
    }
    return out;
}

std::optional<UnixMillis> parse_rfc3339(std::string_view s) {
    int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
    if (!read_int(s, 4, year) || !expect(s, "-") || !read_int(s, 2, month) || !expect(s, "-") ||
        !read_int(s, 2, day) || !expect(s, "Tt ") || !read_int(s, 2, hour) || !expect(s, ":") ||
        !read_int(s, 2, minute) || !expect(s, ":") || !read_int(s, 2, second)) {
        return std::nullopt;
    }
    std::int64_t millis = 0;
    if (!s.empty() && s.front() == '.') {
        s.remove_prefix(1);
        int scale = 100;
        std::size_t n = 0;
        while (!s.empty() && std::isdigit(static_cast<unsigned char>(s.front()))) {
            millis += (s.front() - '0') * scale;
            scale /= 10;
            s.remove_prefix(1);
            ++n;
        }
        if (n == 0) {
            return std::nullopt;
        }
    }
    std::int64_t offset_min = 0;
    if (expect(s, "Zz")) {
        // UTC
    } else if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
        const int sign = s.front() == '+' ? 1 : -1;
        s.remove_prefix(1);
        int oh = 0, om = 0;
        if (!read_int(s, 2, oh) || !expect(s, ":") || !read_int(s, 2, om) || oh > 23 || om > 59) {
            return std::nullopt;
        }
        offset_min = sign * (oh * 60 + om);
    } else {
        return std::nullopt;
    }
    if (!s.empty() || month < 1 || month > 12 || hour > 23 || minute > 59 || second > 60) {
        return std::nullopt;
    }
    using namespace std::chrono;
    const year_month_day ymd{std::chrono::year(year),
                             std::chrono::month(static_cast<unsigned>(month)),
                             std::chrono::day(static_cast<unsigned>(day))};
    if (!ymd.ok()) {
        return std::nullopt;
    }
    const auto days_since_epoch = sys_days(ymd).time_since_epoch().count();
    const std::int64_t secs =
        days_since_epoch * 86400LL + hour * 3600LL + minute * 60LL + second - offset_min * 60LL;
    return secs * 1000 + millis;
}

std::string format_rfc3339(UnixMillis t) {
    using namespace std::chrono;
    const auto tp = sys_time<milliseconds>(milliseconds(t));
    const auto day_point = floor<days>(tp);
    const year_month_day ymd(day_point);
    const hh_mm_ss hms(floor<milliseconds>(tp - day_point));
    char buf[40];
    const auto ms = hms.subseconds().count();
    if (ms != 0) {
        std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02ld:%02ld:%02lld.%03lldZ",
                      static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                      static_cast<unsigned>(ymd.day()), static_cast<long>(hms.hours().count()),
                      static_cast<long>(hms.minutes().count()),
                      static_cast<long long>(hms.seconds().count()), static_cast<long long>(ms));
    } else {
        std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02ld:%02ld:%02lldZ",
                      static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                      static_cast<unsigned>(ymd.day()), static_cast<long>(hms.hours().count()),
                      static_cast<long>(hms.minutes().count()),
                      static_cast<long long>(hms.seconds().count()));
    }
    return buf;
}

TimeValue read_time(std::string_view text, UnixMillis now) {
    const auto d = read_duration(text);
    if (d.ms) {
        if (const auto t = instant_after(now, *d.ms)) {
            return {.ms = *t};
        }
        return {.ms = std::nullopt, .out_of_range = true};
    }
    if (d.out_of_range) {
        return d;
    }
    const auto t = parse_rfc3339(text);
    if (!t) {
        return {};
    }
    if (!instant_in_range(*t)) {
        return {.ms = std::nullopt, .out_of_range = true};
    }
    return {.ms = *t};
}

std::optional<UnixMillis> parse_time_or_duration(std::string_view text, UnixMillis now) {
    return read_time(text, now).ms;
}

nlohmann::json time_or_null(const std::optional<UnixMillis>& t) {
    return t ? nlohmann::json(format_rfc3339(*t)) : nlohmann::json(nullptr);
}

}  // namespace pb
