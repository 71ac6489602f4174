#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/core/config.hpp"

namespace pb {
class Services;
}

namespace pb::daemon {

class Metrics;
class Router;
class HttpServer;
class WsHub;

// pbd from start to exit: flags, configuration, logging, the database
// (Services), the bootstrap admin key, signals, the HTTP listener, the
// once-a-second flush of key usage, and the ordered shutdown. One per process.
class Lifecycle {
  public:
    Lifecycle();
    ~Lifecycle();
    Lifecycle(const Lifecycle&) = delete;
    Lifecycle& operator=(const Lifecycle&) = delete;

    // Runs pbd until SIGTERM or SIGINT and returns the process's exit status:
    // 0 after a clean stop, 2 for bad flags or configuration, else the exit
    // code of the error that stopped the start (7: a file, the database; see
    // exit_code()), 1 for one that is not a pb::Error.
    int run(int argc, char** argv);

  private:
    struct Flags {
        std::string config;
        std::string db;
        std::string redis;
        std::string listen;
        std::string threads;
        std::string log_level;
        std::string log_format;
        std::string port_file;
        std::string bootstrap_key_file;
        bool no_bootstrap = false;
        bool allow_insecure_permissions = false;
        bool check_config = false;
    };

    // Parses argv; returns an exit status when pbd should exit at once.
    std::optional<int> parse_flags(int argc, char** argv);
    // Reads the configuration (flags > env > file > defaults).
    Config read_config() const;
    // read_config() and checks it (what --check-config checks first).
    Config load_config() const;
    // Re-reads and checks the configuration and applies what can change in a
    // running pbd (Services::apply, events.retention); answers the report's
    // JSON. A bad configuration throws its Error, naming the file and the key,
    // logged, and changes nothing. `why`: SIGHUP or system.reload, for the log.
    nlohmann::json reload(std::string_view why);
    void bootstrap();
    void write_port_file(unsigned port) const;
    // Waits for signals, flushing key usage every second, until asked to stop.
    void serve();
    void shut_down();

    Flags m_flags;
    std::mutex m_reload_mutex;  // a SIGHUP and a system.reload op, one at a time
    std::unique_ptr<Services> m_services;
    std::unique_ptr<Metrics> m_metrics;
    std::unique_ptr<Router> m_router;
    std::unique_ptr<WsHub> m_hub;          // outlives the server: its sessions detach from it
    std::unique_ptr<HttpServer> m_server;  // last: stopped before what it uses
};

}  // namespace pb::daemon
