#pragma once

// A real redis-server for the keys' Redis tier tests and benchmark, started
// on a free loopback port with no persistence in a temporary folder and
// stopped by PID. (Kept beside these tests until tests/support has a shared one.)

#include <arpa/inet.h>
#include <chrono>
#include <memory>
#include <netinet/in.h>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

#include "common/redis/connection.hpp"
#include "common/redis/url.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace pb::keys::test {

class LocalRedis {
  public:
    LocalRedis() : m_port(free_port()) { start(); }

    // Starts the server (again, on the same port, empty) and waits for PING;
    // std::runtime_error when it does not answer.
    void start() {
        m_process = std::make_unique<pb::test::Process>(
            std::vector<std::string>{"/usr/bin/redis-server", "--port", std::to_string(m_port),
                                     "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                     "--dir", m_dir.path().string(), "--daemonize", "no"},
            std::map<std::string, std::string>{}, m_dir.file("out.log"), m_dir.file("err.log"));
        for (int i = 0; i < 400; ++i) {
            if (!m_process->running()) {
                break;
            }
            try {
                if (command({"PING"}).str == "PONG") {
                    return;
                }
            } catch (const std::exception&) {
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        throw std::runtime_error("redis-server did not start: " +
                                 pb::test::read_file(m_dir.file("out.log")));
    }
    // Stops it (SIGTERM, then SIGKILL, by PID); its data is gone.
    void stop() { m_process.reset(); }

    std::string url() const { return "redis://127.0.0.1:" + std::to_string(m_port) + "/0"; }

    // One command on a fresh connection of its own.
    redis::Reply command(std::initializer_list<std::string_view> args) const {
        redis::ConnectOptions options;
        options.url = redis::parse_redis_url(url());
        redis::Connection c(options);
        return c.call(std::span<const std::string_view>(args.begin(), args.size()));
    }

  private:
    static int free_port() {
        const int fd = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t size = sizeof addr;
        const bool ok = fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &size) == 0;
        if (fd >= 0) {
            close(fd);
        }
        if (!ok) {
            throw std::runtime_error("no free loopback port");
        }
        return ntohs(addr.sin_port);
    }

    pb::test::TempDir m_dir;
    int m_port;
    std::unique_ptr<pb::test::Process> m_process;
};

}  // namespace pb::keys::test
