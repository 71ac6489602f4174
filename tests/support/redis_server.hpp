#pragma once

#include <memory>
#include <string>

#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace pb::test {

// A real redis-server from Debian for one test: on a free 127.0.0.1 port, in
// its own temporary directory, without persistence. Started by the
// constructor (which waits until it answers PING), stopped by PID on
// destruction. stop() and start() make an outage on the same port.
class RedisServer {
  public:
    struct Options {
        std::string password;  // requirepass; empty: none
    };

    RedisServer();
    explicit RedisServer(Options options);
    ~RedisServer();
    RedisServer(const RedisServer&) = delete;
    RedisServer& operator=(const RedisServer&) = delete;

    int port() const { return m_port; }
    // redis://127.0.0.1:PORT/DB, without the password.
    std::string url(int db = 0) const;
    bool running() const { return m_process != nullptr; }

    // SIGTERM and wait: Redis is gone (its data too: no persistence).
    void stop();
    // Starts again on the same port.
    void start();
    // The server's log, for failure messages.
    std::string log() const;

  private:
    bool launch();

    Options m_options;
    TempDir m_dir;
    int m_port = 0;
    int m_starts = 0;
    std::unique_ptr<Process> m_process;
};

// Sends one inline command (e.g. "PING", "CONFIG SET …") to 127.0.0.1:port and
// returns the raw reply ("" when the server did not answer).
std::string redis_raw(int port, const std::string& command);

}  // namespace pb::test
