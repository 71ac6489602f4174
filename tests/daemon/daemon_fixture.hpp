#pragma once

#include <chrono>
#include <csignal>
#include <filesystem>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/verify_answer.hpp"

namespace pb::test {

// How to start pbd: extra environment (PB_*) and extra flags.
struct DaemonOptions {
    std::map<std::string, std::string> env;
    std::vector<std::string> args;
    std::string db;  // a database URL; empty: pb.db in the daemon's dir
};

// A real pbd listening on a free loopback port, with its database, stdout and
// stderr in `dir`. Started in the constructor (which waits for the port file,
// failing the test if it never comes); stopped with SIGTERM on destruction.
class RunningDaemon {
  public:
    explicit RunningDaemon(const TempDir& dir, DaemonOptions options = {}) : m_dir(dir) {
        static int starts = 0;
        const auto n = std::to_string(++starts);
        m_out = dir.file("pbd.out." + n);
        m_err = dir.file("pbd.err." + n);
        const auto port_file = dir.file("port." + n);
        if (!options.db.empty()) {
            m_db = options.db;
        }
        // SQLite: beside the database (pbd's default); PostgreSQL has none.
        if (const auto it = options.env.find("PB_BOOTSTRAP_KEY_FILE"); it != options.env.end()) {
            m_key_file = it->second;
        } else if (db().rfind("postgres", 0) == 0) {
            m_key_file = dir.file("bootstrap-admin.key");
            options.env["PB_BOOTSTRAP_KEY_FILE"] = m_key_file;
        } else {
            m_key_file =
                (std::filesystem::path(db()).parent_path() / "bootstrap-admin.key").string();
        }
        std::vector<std::string> argv{pbd_path(), "--db",        db(),
                                      "--listen", "127.0.0.1:0", "--port-file",
                                      port_file,  "--threads",   "2"};
        argv.insert(argv.end(), options.args.begin(), options.args.end());
        m_process = std::make_unique<Process>(argv, options.env, m_out, m_err);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (std::chrono::steady_clock::now() < deadline) {
            const auto text = read_file(port_file);
            if (!text.empty()) {
                m_port = std::stoi(text);
                return;
            }
            if (!m_process->running()) {
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        ADD_FAILURE() << "pbd did not start; stderr:\n" << read_file(m_err);
    }

    int port() const { return m_port; }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(m_port); }
    std::string db() const { return m_db.empty() ? m_dir.file("pb.db") : m_db; }
    std::string out() const { return read_file(m_out); }
    std::string err() const { return read_file(m_err); }
    Process& process() { return *m_process; }

    // A client with TCP_NODELAY and short timeouts.
    std::unique_ptr<httplib::Client> client() const {
        auto c = std::make_unique<httplib::Client>("127.0.0.1", m_port);
        c->set_tcp_nodelay(true);
        c->set_connection_timeout(5, 0);
        c->set_read_timeout(5, 0);
        return c;
    }

    // The admin key in the bootstrap key file (written by this pbd or an
    // earlier one on the same database), or "" when there is none.
    std::string bootstrap_key() const {
        auto text = read_file(m_key_file);
        while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
            text.pop_back();
        }
        return text;
    }
    const std::string& bootstrap_key_file() const { return m_key_file; }

  private:
    const TempDir& m_dir;
    std::string m_db;
    std::string m_key_file;
    std::string m_out;
    std::string m_err;
    int m_port = 0;
    std::unique_ptr<Process> m_process;
};

// Headers that present `key` as a bearer token.
inline httplib::Headers bearer(const std::string& key) {
    return {{"Authorization", "Bearer " + key}};
}

// The body of `res` as JSON (null when absent or not JSON).
inline nlohmann::json body_json(const httplib::Result& res) {
    if (!res) {
        return nullptr;
    }
    auto j = nlohmann::json::parse(res->body, nullptr, false);
    return j.is_discarded() ? nlohmann::json(nullptr) : j;
}

// The HTTP status of `res`, or -1 when the request failed.
inline int status_of(const httplib::Result& res) {
    return res ? res->status : -1;
}

// A key created through pbd's POST /v1/keys by `admin` ({"key", "id", …});
// a failure is a test failure (and null).
inline nlohmann::json created_key(const RunningDaemon& pbd, const std::string& admin,
                                  const nlohmann::json& body) {
    const auto res = pbd.client()->Post("/v1/keys", bearer(admin), body.dump(), "application/json");
    EXPECT_EQ(status_of(res), 201) << (res ? res->body : "");
    return body_json(res);
}

// The settings of a pbd where a test's own limits are the only ones: the
// ip, user and key scopes off, no automatic bans, and loopback off
// bans.allow (a client there skips its key's limits). `extra` is added last.
inline std::map<std::string, std::string> only_own_limits(
    const std::map<std::string, std::string>& extra = {}) {
    std::map<std::string, std::string> env{{"PB_LIMITS_IP_RATE", "off"},
                                           {"PB_LIMITS_KEY_RATE", "off"},
                                           {"PB_LIMITS_USER_RATE", "off"},
                                           {"PB_BANS_AUTO_THRESHOLD", "0"},
                                           {"PB_BANS_ALLOW", "192.0.2.1"}};
    for (const auto& [k, v] : extra) {
        env.insert_or_assign(k, v);
    }
    return env;
}

// pbctl beside a running pbd: on its database (`server` false; `env` added,
// the settings pbctl would otherwise read from a config), or through it as
// the holder of `key` (`server` true; pbd's own settings apply).
inline RunResult pbctl_beside(const RunningDaemon& pbd, bool server, const std::string& key,
                              std::vector<std::string> args,
                              std::map<std::string, std::string> env = {},
                              const std::string& input = "") {
    std::vector<std::string> argv{pbctl_path()};
    if (server) {
        argv.insert(argv.end(), {"--server", pbd.url()});
        env = {{"PB_API_KEY", key}};
    } else {
        env.emplace("PB_DB", pbd.db());
    }
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, env, input);
}

// The value of an unlabelled sample "name value" in pbd's /metrics, or -1.
inline long long metric(const RunningDaemon& pbd, const std::string& name) {
    const auto res = pbd.client()->Get("/metrics");
    if (!res) {
        return -1;
    }
    const auto at = res->body.find("\n" + name + " ");
    return at == std::string::npos ? -1 : std::stoll(res->body.substr(at + name.size() + 2));
}

}  // namespace pb::test
