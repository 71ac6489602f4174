#include "tests/support/redis_server.hpp"

#include <arpa/inet.h>
#include <chrono>
#include <csignal>
#include <netinet/in.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/support/process.hpp"

namespace pb::test {
std::string redis_raw(int port, const std::string& command) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{.tv_sec = 2, .tv_usec = 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    std::string reply;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
        const auto line = command + "\r\n";
        if (::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size())) {
            char buf[4096];
            const auto n = ::read(fd, buf, sizeof buf);
            if (n > 0) {
                reply.assign(buf, static_cast<std::size_t>(n));
            }
        }
    }
    ::close(fd);
    return reply;
}

RedisServer::RedisServer() : RedisServer(Options{}) {}

RedisServer::RedisServer(Options options) : m_options(std::move(options)) {
    // Another process may take a free port between the check and the bind.
    for (int attempt = 0; attempt < 5; ++attempt) {
        m_port = free_port();
        if (launch()) {
            return;
        }
    }
    ADD_FAILURE() << "redis-server did not start:\n" << log();
}

RedisServer::~RedisServer() {
    stop();
}

std::string RedisServer::url(int db) const {
    return "redis://127.0.0.1:" + std::to_string(m_port) + "/" + std::to_string(db);
}

std::string RedisServer::log() const {
    return read_file(m_dir.file("redis.log"));
}

bool RedisServer::launch() {
    ++m_starts;
    std::vector<std::string> argv{"/usr/bin/redis-server",
                                  "--port",
                                  std::to_string(m_port),
                                  "--bind",
                                  "127.0.0.1",
                                  "--save",
                                  "",
                                  "--appendonly",
                                  "no",
                                  "--dir",
                                  m_dir.path().string(),
                                  "--daemonize",
                                  "no",
                                  "--logfile",
                                  m_dir.file("redis.log")};
    if (!m_options.password.empty()) {
        argv.insert(argv.end(), {"--requirepass", m_options.password});
    }
    m_process = std::make_unique<Process>(argv, std::map<std::string, std::string>{},
                                          m_dir.file("redis.out"), m_dir.file("redis.err"));
    for (int i = 0; i < 500; ++i) {
        // With a password, NOAUTH is the answer of a server that is up.
        const auto reply = redis_raw(m_port, "PING");
        if (reply.find("PONG") != std::string::npos || reply.starts_with("-NOAUTH")) {
            return true;
        }
        if (!m_process->running()) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    m_process.reset();
    return false;
}

void RedisServer::stop() {
    if (m_process) {
        m_process->signal_and_wait(SIGTERM, std::chrono::seconds(10));
        m_process.reset();
    }
}

void RedisServer::start() {
    if (!m_process && !launch()) {
        ADD_FAILURE() << "redis-server did not start again on port " << m_port << ":\n" << log();
    }
}

}  // namespace pb::test
