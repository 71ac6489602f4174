// pbd under systemd's Type=notify: READY=1 once it listens, RELOADING=1 and
// READY=1 around a SIGHUP reload, STOPPING=1 when it stops; nothing breaks
// without $NOTIFY_SOCKET. The test plays systemd's side with a real socket.
#include <chrono>
#include <csignal>
#include <cstring>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/daemon/daemon_fixture.hpp"

namespace pb::test {
namespace {

// A unix datagram socket like the one systemd gives a notify service.
class NotifySocket {
  public:
    explicit NotifySocket(const std::string& path) : m_path(path) {
        m_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        path.copy(addr.sun_path, sizeof addr.sun_path - 1);
        EXPECT_EQ(bind(m_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
        timeval tv{.tv_sec = 10, .tv_usec = 0};
        setsockopt(m_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        // As systemd does: the kernel attaches the sender's credentials, which
        // systemd checks against the service's main PID (NotifyAccess=main).
        const int on = 1;
        setsockopt(m_fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
    }
    ~NotifySocket() { close(m_fd); }

    // The next message, or "" after the 10 s receive timeout; `sender` gets
    // the PID the kernel vouches for.
    std::string next(pid_t* sender = nullptr) {
        char buf[4096];
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))];
        iovec iov{.iov_base = buf, .iov_len = sizeof buf};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        const auto n = recvmsg(m_fd, &msg, 0);
        if (n <= 0) {
            return {};
        }
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr && sender != nullptr;
             c = CMSG_NXTHDR(&msg, c)) {
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
                ucred cred{};
                std::memcpy(&cred, CMSG_DATA(c), sizeof cred);
                *sender = cred.pid;
            }
        }
        return std::string(buf, static_cast<std::size_t>(n));
    }

  private:
    std::string m_path;
    int m_fd = -1;
};

TEST(SystemdNotify, ReadyReloadingAndStoppingReachTheNotifySocket) {
    TempDir dir;
    NotifySocket systemd(dir.file("notify.sock"));
    RunningDaemon pbd(dir, {.env = {{"NOTIFY_SOCKET", dir.file("notify.sock")}}});
    pid_t sender = 0;
    const auto ready = systemd.next(&sender);
    EXPECT_EQ(sender, pbd.process().pid()) << "sent from the main PID, as NotifyAccess=main needs";
    EXPECT_NE(ready.find("READY=1"), std::string::npos) << ready;
    EXPECT_NE(ready.find("MAINPID=" + std::to_string(pbd.process().pid())), std::string::npos)
        << ready;
    EXPECT_NE(ready.find("STATUS=listening on port " + std::to_string(pbd.port())),
              std::string::npos)
        << ready;
    // Ready means serving: the health check answers at once.
    EXPECT_EQ(status_of(pbd.client()->Get("/health")), 200);

    kill(pbd.process().pid(), SIGHUP);
    EXPECT_EQ(systemd.next(), "RELOADING=1");
    EXPECT_EQ(systemd.next(), "READY=1");

    EXPECT_EQ(pbd.process().signal_and_wait(SIGTERM, std::chrono::seconds(10)), 0);
    EXPECT_EQ(systemd.next(), "STOPPING=1");
}

TEST(SystemdNotify, AnAbsentOrBrokenNotifySocketDoesNotStopPbd) {
    TempDir dir;
    // Nobody listens at this path: pbd must start and serve all the same.
    RunningDaemon pbd(dir, {.env = {{"NOTIFY_SOCKET", dir.file("nobody.sock")}}});
    EXPECT_EQ(status_of(pbd.client()->Get("/health")), 200);
    EXPECT_EQ(pbd.process().signal_and_wait(SIGTERM, std::chrono::seconds(10)), 0);
}

}  // namespace
}  // namespace pb::test
