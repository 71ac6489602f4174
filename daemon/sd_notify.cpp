#include "daemon/sd_notify.hpp"

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace pb::daemon {

bool sd_notify(std::string_view state) {
    const char* socket_name = std::getenv("NOTIFY_SOCKET");
    if (socket_name == nullptr || socket_name[0] == '\0') {
        return true;  // not under systemd's notify protocol: nothing to tell
    }
    const std::string name = socket_name;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (name.size() >= sizeof addr.sun_path || (name[0] != '/' && name[0] != '@')) {
        return false;
    }
    std::memcpy(addr.sun_path, name.data(), name.size());
    if (name[0] == '@') {
        addr.sun_path[0] = '\0';  // abstract namespace
    }
    const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
    const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return false;
    }
    const auto sent = sendto(fd, state.data(), state.size(), MSG_NOSIGNAL,
                             reinterpret_cast<const sockaddr*>(&addr), len);
    close(fd);
    return sent == static_cast<ssize_t>(state.size());
}

}  // namespace pb::daemon
