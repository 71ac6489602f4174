#pragma once

#include <string>

namespace pb::daemon {

// process_* as Prometheus' client libraries export them, read from
// /proc/self at each scrape: process_cpu_seconds_total,
// process_resident_memory_bytes, process_virtual_memory_bytes,
// process_open_fds, process_max_fds, process_start_time_seconds. A figure
// that cannot be read is left out.
void append_process_metrics(std::string& out);

}  // namespace pb::daemon
