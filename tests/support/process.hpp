#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace pb::test {

// The built binaries (set by CMake as PB_BIN_DIR).
std::string pbctl_path();
std::string pbd_path();

// What a finished command produced.
struct RunResult {
    int exit_code = -1;
    std::string out;
    std::string err;
};

// Runs `argv` to completion with `env` as its whole environment (PATH and HOME
// are added if absent), feeding `stdin_text`, and collects its output. Kills it
// after `timeout`.
RunResult run(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
              const std::string& stdin_text = "",
              std::chrono::milliseconds timeout = std::chrono::seconds(30));

// A background process that is stopped (SIGTERM, then SIGKILL) when destroyed.
// Its stdout and stderr go to files so they can be read while it runs.
class Process {
  public:
    Process(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
            const std::string& out_path, const std::string& err_path);
    ~Process();
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    pid_t pid() const { return m_pid; }
    bool running();
    // Sends a signal; then waits for the exit up to `timeout` and returns the
    // exit code (128 + signal if it was killed), or nullopt if still running.
    std::optional<int> signal_and_wait(int sig, std::chrono::milliseconds timeout);

  private:
    pid_t m_pid = -1;
    std::optional<int> m_status;
};

// Reads a whole file ("" if absent).
std::string read_file(const std::string& path);

// A TCP port on 127.0.0.1 that nothing listened on a moment ago (0 if none
// could be had): for a server a test starts that cannot pick its own.
int free_port();

}  // namespace pb::test
