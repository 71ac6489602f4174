#include "tests/support/kv2_server.hpp"

#include <chrono>
#include <ctime>
#include <regex>

#include <httplib.h>

namespace pb::test {
namespace {

using nlohmann::json;

std::int64_t steady_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// Vault's timestamps: RFC 3339 with nanoseconds.
std::string vault_now() {
    const auto now = std::chrono::system_clock::now();
    const auto secs = std::chrono::system_clock::to_time_t(now);
    const auto ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count() %
        1'000'000'000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    char frac[16];
    std::snprintf(frac, sizeof frac, ".%09lldZ", static_cast<long long>(ns));
    return std::string(buf) + frac;
}

json errors(std::vector<std::string> list = {}) {
    return json{{"errors", std::move(list)}};
}

json envelope(json data) {
    return {{"request_id", "00000000-0000-0000-0000-000000000000"},
            {"lease_id", ""},
            {"renewable", false},
            {"lease_duration", 0},
            {"data", std::move(data)},
            {"wrap_info", nullptr},
            {"warnings", nullptr},
            {"auth", nullptr}};
}

std::vector<std::int64_t> versions_of(const json& req) {
    std::vector<std::int64_t> out;
    if (req.is_object() && req.contains("versions") && req["versions"].is_array()) {
        for (const auto& v : req["versions"]) {
            if (v.is_number_integer()) {
                out.push_back(v.get<std::int64_t>());
            }
        }
    }
    return out;
}

}  // namespace

Kv2Server::Kv2Server(std::string mount)
    : m_mount(std::move(mount)), m_server(std::make_unique<httplib::Server>()) {
    start();
}

Kv2Server::Kv2Server(const std::string& cert_file, const std::string& key_file)
    : m_mount("secret"),
      m_server(std::make_unique<httplib::SSLServer>(cert_file.c_str(), key_file.c_str())),
      m_tls(true) {
    start();
}

void Kv2Server::start() {
    m_server->set_tcp_nodelay(true);
    m_server->set_keep_alive_max_count(1'000'000);
    m_server->set_keep_alive_timeout(30);
    install();
    m_port = m_server->bind_to_any_port("127.0.0.1");
    m_thread = std::thread([this] { m_server->listen_after_bind(); });
    for (int i = 0; i < 500 && !m_server->is_running(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

Kv2Server::~Kv2Server() {
    m_server->stop();
    m_thread.join();
}

void Kv2Server::add_approle(std::string role_id, std::string secret_id,
                            std::int64_t lease_seconds) {
    std::lock_guard lock(m_mutex);
    m_approles[std::move(role_id)] = {std::move(secret_id), lease_seconds};
}

void Kv2Server::require_namespace(std::string ns) {
    std::lock_guard lock(m_mutex);
    m_namespace = std::move(ns);
}

std::size_t Kv2Server::connections() const {
    std::lock_guard lock(m_mutex);
    return m_client_ports.size();
}

bool Kv2Server::token_ok(const std::string& token) {
    if (token == k_root_token) {
        return true;
    }
    const auto it = m_tokens.find(token);
    return it != m_tokens.end() && it->second > steady_ms();
}

void Kv2Server::install() {
    auto handler = [this](const httplib::Request& req, httplib::Response& res) {
        ++m_requests;
        if (const int d = delay_ms.load(); d > 0) {
            std::this_thread::sleep_for(std::chrono::milliseconds(d));
        }
        const auto start = std::chrono::steady_clock::now();
        Answer a;
        {
            std::lock_guard lock(m_mutex);
            m_client_ports.insert(req.remote_port);
            static const std::regex k_kv(
                R"(/v1/([^/]+)/(data|metadata|delete|undelete|destroy)/?(.*))");
            static const std::regex k_login(R"(/v1/auth/([^/]+)/login)");
            std::smatch m;
            const auto ns = req.get_header_value("X-Vault-Namespace");
            if (garbage) {
                res.status = 200;
                res.set_content("<html>a proxy error page</html>", "text/html");
                return;
            }
            if (fail_next > 0) {
                --fail_next;
                a = {500, errors({"internal error"})};
            } else if (req.path == "/v1/sys/health") {
                a = {sealed ? 503 : 200,
                     {{"initialized", true},
                      {"sealed", sealed.load()},
                      {"standby", false},
                      {"performance_standby", false},
                      {"replication_performance_mode", "disabled"},
                      {"replication_dr_mode", "disabled"},
                      {"server_time_utc", std::time(nullptr)},
                      {"version", "1.15.2"},
                      {"cluster_name", "pb-test"},
                      {"cluster_id", "test"}}};
            } else if (sealed) {
                a = {503, errors({"Vault is sealed"})};
            } else if (m_namespace && ns != *m_namespace) {
                a = {403, errors({"permission denied"})};
            } else if (req.method == "POST" && std::regex_match(req.path, m, k_login)) {
                const auto body = json::parse(req.body, nullptr, false);
                const auto it = body.is_object() ? m_approles.find(body.value("role_id", ""))
                                                 : m_approles.end();
                if (it == m_approles.end() || body.value("secret_id", "") != it->second.first) {
                    a = {400, errors({"invalid role or secret ID"})};
                } else {
                    ++m_logins;
                    const auto token = "s.approle" + std::to_string(++m_next_token);
                    m_tokens[token] = steady_ms() + it->second.second * 1000;
                    a = {200, envelope(nullptr)};
                    a.body["auth"] = {{"client_token", token},
                                      {"accessor", "acc"},
                                      {"policies", {"default"}},
                                      {"lease_duration", it->second.second},
                                      {"renewable", true}};
                }
            } else if (!token_ok(req.get_header_value("X-Vault-Token"))) {
                a = {403, errors({"permission denied"})};
            } else if (req.method == "POST" && req.path == "/v1/auth/token/renew-self") {
                const auto token = req.get_header_value("X-Vault-Token");
                auto it = m_tokens.find(token);
                if (it == m_tokens.end()) {
                    a = {400, errors({"token not renewable"})};
                } else {
                    ++m_renewals;
                    std::int64_t lease = 0;
                    for (const auto& [role, cred] : m_approles) {
                        lease = cred.second;
                    }
                    it->second = steady_ms() + lease * 1000;
                    a = {200, envelope(nullptr)};
                    a.body["auth"] = {
                        {"client_token", token}, {"lease_duration", lease}, {"renewable", true}};
                }
            } else if (std::regex_match(req.path, m, k_kv) && m[1] == m_mount) {
                if (req.method == "PATCH" &&
                    req.get_header_value("Content-Type") != "application/merge-patch+json") {
                    a = {415, errors({"PATCH requires application/merge-patch+json"})};
                } else {
                    std::multimap<std::string, std::string> params(req.params.begin(),
                                                                   req.params.end());
                    a = kv(req.method, m[2], m[3], req.body, params);
                }
            } else {
                a = {404, errors({"no handler for route \"" + req.path + "\""})};
            }
        }
        res.status = a.status;
        if (a.status != 204) {
            res.set_content(a.body.dump(), "application/json");
        }
        m_handler_us += std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::steady_clock::now() - start)
                            .count();
    };
    m_server->Get(".*", handler);
    m_server->Post(".*", handler);
    m_server->Put(".*", handler);
    m_server->Patch(".*", handler);
    m_server->Delete(".*", handler);
}

Kv2Server::Answer Kv2Server::kv(const std::string& method, const std::string& kind,
                                const std::string& path, const std::string& body,
                                const std::multimap<std::string, std::string>& params) {
    json req = body.empty() ? json::object() : json::parse(body, nullptr, false);
    if (req.is_discarded()) {
        return {400, errors({"failed to parse JSON input"})};
    }
    const auto param = [&](const std::string& k) {
        const auto it = params.find(k);
        return it == params.end() ? std::string() : it->second;
    };
    const bool write = method == "POST" || method == "PUT";
    if (kind == "metadata" && method == "GET" && param("list") == "true") {
        return list(path);
    }
    if (path.empty()) {
        return {404, errors()};
    }
    if (kind == "data") {
        if (method == "GET") {
            const auto v = param("version");
            return read(path, v.empty() ? 0 : std::stoll(v));
        }
        if (write || method == "PATCH") {
            return write_or_patch(path, req, method == "PATCH");
        }
        // DELETE: soft-delete the latest version.
        auto it = m_entries.find(path);
        if (it != m_entries.end() && it->second.versions.count(it->second.current) != 0) {
            auto& v = it->second.versions[it->second.current];
            if (!v.destroyed) {
                v.deleted = vault_now();
            }
        }
        return {204, nullptr};
    }
    if (kind == "metadata") {
        if (method == "GET") {
            return metadata_json(path);
        }
        if (method == "DELETE") {
            m_entries.erase(path);
            return {204, nullptr};
        }
        auto& e = m_entries[path];
        if (e.created.empty()) {
            e.created = vault_now();
        }
        if (req.contains("max_versions")) {
            e.max_versions = req["max_versions"].get<std::int64_t>();
        }
        if (req.contains("cas_required")) {
            e.cas_required = req["cas_required"].get<bool>();
        }
        if (req.contains("custom_metadata")) {
            e.custom = req["custom_metadata"];
        }
        e.updated = vault_now();
        return {204, nullptr};
    }
    // delete/, undelete/, destroy/
    const auto versions = versions_of(req);
    if (versions.empty()) {
        return {400, errors({"no version number provided"})};
    }
    auto it = m_entries.find(path);
    if (it == m_entries.end()) {
        return {204, nullptr};
    }
    for (const auto n : versions) {
        auto v = it->second.versions.find(n);
        if (v == it->second.versions.end() || v->second.destroyed) {
            continue;
        }
        if (kind == "delete") {
            if (v->second.deleted.empty()) {
                v->second.deleted = vault_now();
            }
        } else if (kind == "undelete") {
            v->second.deleted.clear();
        } else {
            v->second.destroyed = true;
            v->second.data = nullptr;
        }
    }
    return {204, nullptr};
}

Kv2Server::Answer Kv2Server::write_or_patch(const std::string& path, const json& req, bool patch) {
    if (!req.is_object() || !req.contains("data") || !req["data"].is_object()) {
        return {400, errors({"no data provided"})};
    }
    auto it = m_entries.find(path);
    const std::int64_t current = it == m_entries.end() ? 0 : it->second.current;
    const bool has_cas =
        req.contains("options") && req["options"].is_object() && req["options"].contains("cas");
    if (it != m_entries.end() && it->second.cas_required && !has_cas) {
        return {400, errors({"check-and-set parameter required for this call"})};
    }
    if (has_cas && req["options"]["cas"].get<std::int64_t>() != current) {
        return {400, errors({"check-and-set parameter did not match the current version"})};
    }
    json data = req["data"];
    if (patch) {
        if (it == m_entries.end() || current == 0 || it->second.versions.count(current) == 0 ||
            it->second.versions[current].destroyed ||
            !it->second.versions[current].deleted.empty()) {
            return {404, errors()};
        }
        json merged = it->second.versions[current].data;
        for (const auto& [k, v] : data.items()) {
            if (v.is_null()) {
                merged.erase(k);
            } else {
                merged[k] = v;
            }
        }
        data = merged;
    }
    auto& e = m_entries[path];
    const auto now = vault_now();
    if (e.created.empty()) {
        e.created = now;
    }
    e.current = current + 1;
    e.versions[e.current] = Version{data, now, "", false};
    e.updated = now;
    const auto max = e.max_versions > 0 ? e.max_versions : 10;
    while (static_cast<std::int64_t>(e.versions.size()) > max) {
        e.versions.erase(e.versions.begin());
    }
    e.oldest = e.versions.begin()->first;
    return {200, envelope({{"created_time", now},
                           {"custom_metadata", e.custom},
                           {"deletion_time", ""},
                           {"destroyed", false},
                           {"version", e.current}})};
}

Kv2Server::Answer Kv2Server::read(const std::string& path, std::int64_t version) {
    auto it = m_entries.find(path);
    if (it == m_entries.end() || it->second.current == 0) {
        return {404, errors()};
    }
    const auto n = version == 0 ? it->second.current : version;
    auto v = it->second.versions.find(n);
    if (v == it->second.versions.end()) {
        return {404, errors()};
    }
    const json meta{{"created_time", v->second.created},
                    {"custom_metadata", it->second.custom},
                    {"deletion_time", v->second.deleted},
                    {"destroyed", v->second.destroyed},
                    {"version", n}};
    if (v->second.destroyed || !v->second.deleted.empty()) {
        return {404, envelope({{"data", nullptr}, {"metadata", meta}})};
    }
    return {200, envelope({{"data", v->second.data}, {"metadata", meta}})};
}

Kv2Server::Answer Kv2Server::list(const std::string& prefix) {
    std::set<std::string> keys;
    for (const auto& [path, e] : m_entries) {
        if (!path.starts_with(prefix) || path.size() == prefix.size()) {
            continue;
        }
        const auto rest = path.substr(prefix.size());
        const auto slash = rest.find('/');
        keys.insert(slash == std::string::npos ? rest : rest.substr(0, slash + 1));
    }
    if (keys.empty()) {
        return {404, errors()};
    }
    return {200, envelope({{"keys", keys}})};
}

Kv2Server::Answer Kv2Server::metadata_json(const std::string& path) {
    auto it = m_entries.find(path);
    if (it == m_entries.end()) {
        return {404, errors()};
    }
    const auto& e = it->second;
    json versions = json::object();
    for (const auto& [n, v] : e.versions) {
        versions[std::to_string(n)] = {
            {"created_time", v.created}, {"deletion_time", v.deleted}, {"destroyed", v.destroyed}};
    }
    return {200, envelope({{"cas_required", e.cas_required},
                           {"created_time", e.created},
                           {"current_version", e.current},
                           {"delete_version_after", "0s"},
                           {"max_versions", e.max_versions},
                           {"oldest_version", e.oldest},
                           {"updated_time", e.updated},
                           {"custom_metadata", e.custom},
                           {"versions", versions}})};
}

}  // namespace pb::test
