#pragma once

#include <string_view>

namespace pb::daemon {

// systemd's readiness protocol (sd_notify(3)) without libsystemd: a datagram to
// the unix socket named by $NOTIFY_SOCKET (a path, or "@name" in the abstract
// namespace). Does nothing when pbd was not started by systemd with
// Type=notify. Returns false when the message could not be sent.
bool sd_notify(std::string_view state);

}  // namespace pb::daemon
