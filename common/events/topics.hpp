#pragma once

#include <string>
#include <string_view>

namespace pb::events {

// Which topics a subscription pattern selects:
//   "states/user_1"  that topic exactly;
//   "keys"           that topic and every topic under it ("keys/…");
//   "states/user_*"  every topic that starts with "states/user_";
//   "*"              every topic.
bool topic_matches(std::string_view pattern, std::string_view topic);

// Throws Error(invalid_argument) for a pattern that is empty, longer than 200
// bytes, holds a control character or space, or has '*' anywhere but at the end.
void check_pattern(std::string_view pattern);

// The permission that lets a caller subscribe to `pattern`: "<group>:read" of
// its first segment ("keys/abc" -> "keys:read", "bans" -> "bans:read"), or
// "events:read" for a pattern whose first segment has a '*' (every topic).
std::string read_permission(std::string_view pattern);

}  // namespace pb::events
