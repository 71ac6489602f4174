#pragma once

#include <string>

#include "common/runtime/services.hpp"

namespace pb::daemon {

// Appends pb_limit_shadow_denied_total{policy}: the checks a shadow policy
// (a scope with limits.<scope>.shadow, an override set with --shadow, or any
// limit counted in limits::ShadowCounters) would have refused, by policy name.
void append_limit_metrics(Services& services, std::string& out);

}  // namespace pb::daemon
