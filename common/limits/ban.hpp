#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/core/clock.hpp"
#include "common/limits/cidr.hpp"

namespace pb::limits {

// What a ban covers.
enum class BanKind : std::uint8_t { ip, range, user, key };

std::string_view to_string(BanKind kind);
// "ip", "range", "user" or "key"; nullopt otherwise.
std::optional<BanKind> ban_kind_from_string(std::string_view text);

// A parsed ban target. `value` is canonical: "203.0.113.7", "10.0.0.0/8",
// "mallory", "<key id>"; `range` is set for ip and range.
struct BanTarget {
    BanKind kind = BanKind::ip;
    std::string value;
    std::optional<IpRange> range;

    // The text users write and see: "203.0.113.7", "2001:db8::/32",
    // "user:mallory", "key:<id>".
    std::string text() const;
};

// Parses a target: an address, a CIDR range (a /32 or /128 is an address),
// user:NAME or key:ID ("ip:" and "range:" prefixes are accepted too). Throws
// Error(invalid_argument) with what is wrong and what is expected.
BanTarget parse_target(std::string_view text);

// A ban's or an override's reason: at most 500 characters, no control
// characters. Error(invalid_argument, {"param":"reason"}) otherwise.
void check_reason(std::string_view reason);

enum class BanOrigin : std::uint8_t { manual, auto_ban };
std::string_view to_string(BanOrigin origin);

// One stored ban.
struct Ban {
    std::int64_t id = 0;
    BanTarget target;
    std::string reason;
    BanOrigin origin = BanOrigin::manual;
    std::string created_by;  // the actor, or "pb:auto" for automatic bans
    UnixMillis created_at = 0;
    std::optional<UnixMillis> expires_at;  // nullopt: until removed
    std::int64_t strikes = 1;              // automatic bans: how many in a row

    // True while it is in force at `now`.
    bool active(UnixMillis now) const { return !expires_at || *expires_at > now; }
    // The public view: times as RFC 3339, and whether it is in force at `now`.
    nlohmann::json to_json(UnixMillis now) const;
    // The JSON Schema of to_json() ("Ban").
    static nlohmann::json schema();
};

}  // namespace pb::limits
