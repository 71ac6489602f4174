#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace pb::actions {

// A command to start: no shell, its own process group, stdin from /dev/null.
struct SpawnRequest {
    std::string program;            // an absolute path to an executable
    std::vector<std::string> argv;  // argv[0] included
    std::vector<std::string> env;   // "NAME=value": the whole environment
    std::string cwd;                // empty: pb's own
    std::chrono::milliseconds timeout{60'000};
    std::chrono::milliseconds kill_grace{5'000};  // SIGTERM to SIGKILL
    std::size_t max_output = 1 << 20;             // bytes kept of stdout and of stderr each
};

enum class SpawnStatus { exited, timed_out };

struct SpawnResult {
    SpawnStatus status = SpawnStatus::exited;
    int exit_code = -1;  // the exit status, or 128 + the signal that ended it
    int signal = 0;      // the signal that ended it, if any
    std::string out;
    std::string err;
    bool truncated = false;  // output beyond max_output was read and dropped
    std::int64_t duration_ms = 0;
};

// Runs the command to its end and collects its output. On timeout the whole
// process group gets SIGTERM, then SIGKILL after kill_grace; when the command
// ends, whatever it left running in its group is killed. Error(unavailable)
// when it cannot be started.
SpawnResult spawn_and_wait(const SpawnRequest& request);

// `name` looked up in the colon-separated `path` (names with a "/" are taken
// as they are): the executable's absolute path, or "" when there is none.
std::string find_executable(const std::string& name, const std::string& path);

}  // namespace pb::actions
