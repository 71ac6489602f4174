#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/core/rate.hpp"

namespace pb::limits {

// Who a limit counts: a client address, a user (JWT subject or key owner), or
// an API key.
enum class Scope : std::uint8_t { ip, user, key };

std::string_view to_string(Scope scope);
// "ip", "user" or "key"; nullopt otherwise.
std::optional<Scope> scope_from_string(std::string_view text);

// A limit's policy is a rate in core's syntax (keys check a key's own
// rate_limit with it too, without depending on limits).
using Policy = Rate;
using pb::parse_rate_limit;
inline std::optional<Policy> parse_policy(std::string_view rate, std::int64_t burst,
                                          std::string_view what) {
    return parse_rate(rate, burst, what);
}

// The policy a check applies and where it comes from: `name` is what
// answers report ("scope:ip", "override:ip:203.0.113.0/24", "key:ID" for a
// key's own limit) and what pb_limit_shadow_denied_total counts by; a shadow
// policy counts and reports but never refuses.
struct AppliedPolicy {
    Policy policy;
    std::string name;
    bool shadow = false;
};

}  // namespace pb::limits
