#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

namespace httplib {
class Server;
}

namespace pb::test {

// A HashiCorp Vault KV v2 server for tests, on 127.0.0.1 and a free port,
// following Vault's documented HTTP API: /v1/<mount>/data|metadata|delete|
// undelete|destroy/<path>, options.cas, ?version=, listing as GET ?list=true
// (Vault's documented equivalent of LIST, which cpp-httplib cannot route),
// PATCH with application/merge-patch+json, /v1/sys/health,
// /v1/auth/<approle>/login, /v1/auth/token/renew-self; answers
// {"errors":[…]} with Vault's status codes (400 cas mismatch, 403 bad token,
// 404 missing or an empty LIST, 503 sealed). Knobs make it sealed, slow or
// answer garbage. Thread-safe.
class Kv2Server {
  public:
    explicit Kv2Server(std::string mount = "secret");
    // The same over TLS with this PEM certificate and key.
    Kv2Server(const std::string& cert_file, const std::string& key_file);
    ~Kv2Server();
    Kv2Server(const Kv2Server&) = delete;
    Kv2Server& operator=(const Kv2Server&) = delete;

    int port() const { return m_port; }
    std::string address() const {
        return (m_tls ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(m_port);
    }

    // A token that may do everything.
    static constexpr const char* k_root_token = "root-token";
    // AppRole credentials that log in; each login's token lasts `lease_seconds`.
    void add_approle(std::string role_id, std::string secret_id, std::int64_t lease_seconds);
    // When set, requests must carry X-Vault-Namespace with this value (else 403).
    void require_namespace(std::string ns);

    std::atomic<bool> sealed{false};
    std::atomic<bool> garbage{false};  // answer 200 with HTML instead of JSON
    std::atomic<int> delay_ms{0};      // sleep before answering
    std::atomic<int> fail_next{0};     // answer this many requests with 500 first

    // Observations.
    int requests() const { return m_requests.load(); }
    int logins() const { return m_logins.load(); }
    int renewals() const { return m_renewals.load(); }
    // Distinct client connections seen (by client port).
    std::size_t connections() const;
    // Time the handlers spent, in microseconds (for the overhead benchmark).
    std::int64_t handler_micros() const { return m_handler_us.load(); }

  private:
    struct Version {
        nlohmann::json data;  // null once destroyed
        std::string created;
        std::string deleted;  // "" unless soft-deleted
        bool destroyed = false;
    };
    struct Entry {
        std::map<std::int64_t, Version> versions;
        std::int64_t current = 0;
        std::int64_t oldest = 0;
        std::int64_t max_versions = 0;
        bool cas_required = false;
        nlohmann::json custom = nullptr;
        std::string created;
        std::string updated;
    };
    struct Answer {
        int status = 200;
        nlohmann::json body;
    };

    void start();
    void install();
    Answer kv(const std::string& method, const std::string& kind, const std::string& path,
              const std::string& body, const std::multimap<std::string, std::string>& params);
    Answer write_or_patch(const std::string& path, const nlohmann::json& req, bool patch);
    Answer read(const std::string& path, std::int64_t version);
    Answer list(const std::string& prefix);
    Answer metadata_json(const std::string& path);
    bool token_ok(const std::string& token);

    std::string m_mount;
    std::unique_ptr<httplib::Server> m_server;
    std::thread m_thread;
    int m_port = 0;
    bool m_tls = false;

    mutable std::mutex m_mutex;
    std::map<std::string, Entry> m_entries;
    std::map<std::string, std::pair<std::string, std::int64_t>>
        m_approles;                                // role -> secret, lease
    std::map<std::string, std::int64_t> m_tokens;  // issued token -> expiry (steady ms)
    std::optional<std::string> m_namespace;
    std::set<int> m_client_ports;
    std::atomic<int> m_requests{0};
    std::atomic<int> m_logins{0};
    std::atomic<int> m_renewals{0};
    std::atomic<std::int64_t> m_handler_us{0};
    std::int64_t m_next_token = 0;
};

}  // namespace pb::test
