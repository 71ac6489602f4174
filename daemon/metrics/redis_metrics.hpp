#pragma once

#include <string>

#include "common/runtime/services.hpp"

namespace pb::daemon {

// Appends pb_redis_* (connection, errors, events published and received) and
// pb_limits_redis_failures_total (checks Redis could not answer, by the policy
// applied) in the Prometheus text format. Nothing when Redis is not configured.
void append_redis_metrics(Services& services, std::string& out);

}  // namespace pb::daemon
