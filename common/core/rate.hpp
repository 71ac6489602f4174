#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace pb {

// The rate syntax, shared by the limits.* settings, a key's own rate_limit
// (checked by keys when the key is written) and the limits service.

// A rate: `count` requests per `period_ms`, with up to `burst` at once (GCRA:
// one request is earned every period/count; a client that waited can spend
// `burst` at once).
struct Rate {
    std::int64_t count = 0;
    std::int64_t period_ms = 0;
    std::int64_t burst = 0;

    // The microseconds between two earned requests (at least 1).
    std::int64_t interval_us() const;
    // "100/min", "10/s", "5/30s".
    std::string rate_text() const;
    // {"rate":"100/min","burst":20}
    nlohmann::json to_json() const;
};

// Parses "N/unit": unit s|sec|second, m|min|minute, h|hour, d|day, or a
// duration ("5/30s"). `burst` 0 means N. "off" (or an empty text) is nullopt:
// no limit. Throws Error(invalid_argument) naming `what` (e.g. the config key
// or the param) on anything else.
std::optional<Rate> parse_rate(std::string_view rate, std::int64_t burst, std::string_view what);

// Parses a per-key rate limit as stored with the key: "RATE" or "RATE,BURST"
// ("10/s", "600/min,50"). Error(invalid_argument) naming `what`.
std::optional<Rate> parse_rate_limit(std::string_view text, std::string_view what);

}  // namespace pb
