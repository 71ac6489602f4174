#include "common/actions/spawn.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <memory>
#include <poll.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/core/error.hpp"

namespace pb::actions {
namespace {

using Clock = std::chrono::steady_clock;

// How often the wait loop looks at the child when it cannot wait on a pidfd.
constexpr int k_tick_ms = 10;

class Fd {
  public:
    explicit Fd(int fd = -1) : m_fd(fd) {}
    ~Fd() { reset(); }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return m_fd; }
    void reset() {
        if (m_fd >= 0) {
            ::close(m_fd);
        }
        m_fd = -1;
    }

  private:
    int m_fd;
};

// A pipe's read and write ends. CLOEXEC so a command started by another
// thread does not inherit them.
struct Pipe {
    Pipe() {
        std::array<int, 2> fds{};
        if (::pipe2(fds.data(), O_CLOEXEC) != 0) {
            throw Error(ErrorCode::unavailable,
                        std::string("cannot create a pipe: ") + std::strerror(errno));
        }
        read = std::make_unique<Fd>(fds[0]);
        write = std::make_unique<Fd>(fds[1]);
    }
    std::unique_ptr<Fd> read;
    std::unique_ptr<Fd> write;
};

class SpawnAttrs {
  public:
    SpawnAttrs() {
        posix_spawnattr_init(&m_attr);
        posix_spawn_file_actions_init(&m_actions);
    }
    ~SpawnAttrs() {
        posix_spawnattr_destroy(&m_attr);
        posix_spawn_file_actions_destroy(&m_actions);
    }
    SpawnAttrs(const SpawnAttrs&) = delete;
    SpawnAttrs& operator=(const SpawnAttrs&) = delete;
    posix_spawnattr_t m_attr{};
    posix_spawn_file_actions_t m_actions{};
};

void check(int rc, const char* what) {
    if (rc != 0) {
        throw Error(ErrorCode::unavailable,
                    std::string("cannot start the command (") + what + "): " + std::strerror(rc));
    }
}

// Reads what is there; false at end of file.
bool drain(int fd, std::string& into, std::size_t cap, bool& truncated) {
    std::array<char, 16384> buf{};
    for (;;) {
        const auto n = ::read(fd, buf.data(), buf.size());
        if (n > 0) {
            const auto room = cap > into.size() ? cap - into.size() : 0;
            const auto keep = std::min<std::size_t>(room, static_cast<std::size_t>(n));
            into.append(buf.data(), keep);
            truncated = truncated || keep < static_cast<std::size_t>(n);
            if (static_cast<std::size_t>(n) < buf.size()) {
                return true;
            }
            continue;
        }
        if (n == 0) {
            return false;
        }
        if (errno == EINTR) {
            continue;
        }
        return errno == EAGAIN;
    }
}

}  // namespace

std::string find_executable(const std::string& name, const std::string& path) {
    namespace fs = std::filesystem;
    auto usable = [](const fs::path& p) {
        std::error_code ec;
        return fs::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
    };
    if (name.find('/') != std::string::npos) {
        return usable(name) ? fs::absolute(name).lexically_normal().string() : std::string();
    }
    std::size_t start = 0;
    while (start <= path.size()) {
        auto end = path.find(':', start);
        if (end == std::string::npos) {
            end = path.size();
        }
        const auto dir = path.substr(start, end - start);
        // An empty or relative PATH entry would search pb's working directory.
        if (!dir.empty() && dir.front() == '/') {
            const auto candidate = fs::path(dir) / name;
            if (usable(candidate)) {
                return candidate.string();
            }
        }
        start = end + 1;
    }
    return {};
}

SpawnResult spawn_and_wait(const SpawnRequest& req) {
    Pipe out;
    Pipe err;

    SpawnAttrs sa;
    check(posix_spawn_file_actions_addopen(&sa.m_actions, 0, "/dev/null", O_RDONLY, 0), "stdin");
    check(posix_spawn_file_actions_adddup2(&sa.m_actions, out.write->get(), 1), "stdout");
    check(posix_spawn_file_actions_adddup2(&sa.m_actions, err.write->get(), 2), "stderr");
    check(posix_spawn_file_actions_addclosefrom_np(&sa.m_actions, 3), "closefrom");
    if (!req.cwd.empty()) {
        check(posix_spawn_file_actions_addchdir_np(&sa.m_actions, req.cwd.c_str()), "cwd");
    }
    // Its own process group (so a timeout reaches its children too), an empty
    // signal mask and default dispositions: pbd blocks and ignores signals the
    // command must not inherit.
    sigset_t empty;
    sigemptyset(&empty);
    sigset_t all;
    sigfillset(&all);
    sigdelset(&all, SIGKILL);
    sigdelset(&all, SIGSTOP);
    check(posix_spawnattr_setflags(
              &sa.m_attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF),
          "flags");
    check(posix_spawnattr_setpgroup(&sa.m_attr, 0), "pgroup");
    check(posix_spawnattr_setsigmask(&sa.m_attr, &empty), "sigmask");
    check(posix_spawnattr_setsigdefault(&sa.m_attr, &all), "sigdefault");

    std::vector<char*> argv;
    for (const auto& a : req.argv) {
        argv.push_back(const_cast<char*>(a.c_str()));
    }
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (const auto& e : req.env) {
        envp.push_back(const_cast<char*>(e.c_str()));
    }
    envp.push_back(nullptr);

    const auto start = Clock::now();
    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, req.program.c_str(), &sa.m_actions, &sa.m_attr, argv.data(),
                                 envp.data());
    if (rc != 0) {
        throw Error(ErrorCode::unavailable,
                    "cannot start " + req.program + ": " + std::strerror(rc));
    }
    out.write->reset();
    err.write->reset();
    ::fcntl(out.read->get(), F_SETFL, O_NONBLOCK);
    ::fcntl(err.read->get(), F_SETFL, O_NONBLOCK);

    // Without pidfds (Linux < 5.3) the loop falls back to a 10 ms tick.
    const Fd child(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    SpawnResult result;
    const auto deadline = start + req.timeout;
    auto kill_at = Clock::time_point::max();
    bool out_open = true;
    bool err_open = true;
    bool exited = false;
    int status = 0;
    auto drain_deadline = Clock::time_point::max();
    for (;;) {
        if (!exited) {
            const auto w = ::waitpid(pid, &status, WNOHANG);
            if (w == pid) {
                exited = true;
                // Nothing of an ended action keeps running: its group goes with it.
                ::kill(-pid, SIGKILL);
                drain_deadline = Clock::now() + std::chrono::seconds(1);
            }
        }
        if (exited && ((!out_open && !err_open) || Clock::now() >= drain_deadline)) {
            break;
        }
        const auto now = Clock::now();
        if (!exited && result.status != SpawnStatus::timed_out && now >= deadline) {
            result.status = SpawnStatus::timed_out;
            ::kill(-pid, SIGTERM);
            kill_at = now + req.kill_grace;
        }
        if (!exited && now >= kill_at) {
            ::kill(-pid, SIGKILL);
            kill_at = Clock::time_point::max();
        }
        std::array<pollfd, 3> fds{};
        nfds_t n = 0;
        if (out_open) {
            fds[n++] = {out.read->get(), POLLIN, 0};
        }
        if (err_open) {
            fds[n++] = {err.read->get(), POLLIN, 0};
        }
        int wait_ms = k_tick_ms;
        if (!exited && child.get() >= 0) {
            // The pidfd turns readable when the child ends: no polling tick.
            fds[n++] = {child.get(), POLLIN, 0};
            const auto next = std::min(
                {result.status == SpawnStatus::timed_out ? Clock::time_point::max() : deadline,
                 kill_at, drain_deadline});
            wait_ms = static_cast<int>(std::clamp<std::int64_t>(
                std::chrono::ceil<std::chrono::milliseconds>(next - now).count(), 0, 1000));
        }
        if (n == 0) {
            ::usleep(k_tick_ms * 1000);
            continue;
        }
        if (::poll(fds.data(), n, wait_ms) > 0) {
            for (nfds_t i = 0; i < n; ++i) {
                if (fds[i].revents == 0 || fds[i].fd == child.get()) {
                    continue;
                }
                const bool is_out = fds[i].fd == out.read->get();
                auto& text = is_out ? result.out : result.err;
                if (!drain(fds[i].fd, text, req.max_output, result.truncated)) {
                    (is_out ? out_open : err_open) = false;
                }
            }
        }
    }
    result.duration_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
    if (WIFEXITED(status)) {
        result.exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        result.signal = WTERMSIG(status);
        result.exit_code = 128 + result.signal;
    }
    return result;
}

}  // namespace pb::actions
