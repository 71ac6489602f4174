#include "daemon/metrics/process_metrics.hpp"

#include <cstdio>
#include <cstdlib>
#include <dirent.h>
#include <fstream>
#include <sstream>
#include <string_view>
#include <sys/resource.h>
#include <unistd.h>
#include <vector>

#include "daemon/metrics/prometheus_text.hpp"

namespace pb::daemon {
namespace {

std::string read_file(const char* path) {
    std::ifstream in(path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// The fields of /proc/self/stat after "(comm)", which may itself hold spaces
// and parentheses: fields[0] is field 3 (state) of proc(5).
std::vector<std::string> stat_fields() {
    const auto text = read_file("/proc/self/stat");
    const auto close = text.rfind(')');
    std::vector<std::string> fields;
    if (close == std::string::npos) {
        return fields;
    }
    std::istringstream in(text.substr(close + 1));
    for (std::string f; in >> f;) {
        fields.push_back(f);
    }
    return fields;
}

// The system's boot time (btime of /proc/stat), 0 when unknown.
long long boot_time() {
    std::istringstream in(read_file("/proc/stat"));
    for (std::string line; std::getline(in, line);) {
        if (line.starts_with("btime ")) {
            return std::atoll(line.c_str() + 6);
        }
    }
    return 0;
}

int open_fds() {
    DIR* dir = opendir("/proc/self/fd");
    if (dir == nullptr) {
        return -1;
    }
    int n = 0;
    while (const dirent* e = readdir(dir)) {
        if (e->d_name[0] != '.') {
            ++n;
        }
    }
    closedir(dir);
    return n - 1;  // the descriptor opendir() holds
}

void append_double(std::string& out, std::string_view name, std::string_view type,
                   std::string_view help, double value) {
    append_family(out, name, type, help);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.3f", value);
    out += name;
    out += ' ';
    out += buf;
    out += '\n';
}

}  // namespace

void append_process_metrics(std::string& out) {
    const auto f = stat_fields();
    const long ticks = sysconf(_SC_CLK_TCK);
    const long page = sysconf(_SC_PAGESIZE);
    // proc(5): utime 14, stime 15, starttime 22, vsize 23, rss 24; f[0] is field 3.
    if (f.size() > 21 && ticks > 0 && page > 0) {
        const double cpu =
            static_cast<double>(std::atoll(f[11].c_str()) + std::atoll(f[12].c_str())) /
            static_cast<double>(ticks);
        append_double(out, "process_cpu_seconds_total", "counter",
                      "Total user and system CPU time spent in seconds.", cpu);
        append_metric(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
                      std::atoll(f[20].c_str()));
        append_metric(out, "process_resident_memory_bytes", "gauge",
                      "Resident memory size in bytes.",
                      std::atoll(f[21].c_str()) * static_cast<long long>(page));
        if (const auto boot = boot_time(); boot > 0) {
            append_double(
                out, "process_start_time_seconds", "gauge",
                "Start time of the process since unix epoch in seconds.",
                static_cast<double>(boot) +
                    static_cast<double>(std::atoll(f[19].c_str())) / static_cast<double>(ticks));
        }
    }
    if (const int fds = open_fds(); fds >= 0) {
        append_metric(out, "process_open_fds", "gauge", "Number of open file descriptors.", fds);
    }
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
        append_metric(out, "process_max_fds", "gauge", "Maximum number of open file descriptors.",
                      static_cast<unsigned long long>(limit.rlim_cur));
    }
}

}  // namespace pb::daemon
