#pragma once

// Internal to the vault backend (includes no cpp-httplib; only
// vault_client.cpp and vault_backend.cpp include this).

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/secrets/vault_backend.hpp"

namespace pb::secrets::detail {

// An answer from Vault: status and parsed body (null when empty).
struct VaultResponse {
    int status = 0;
    nlohmann::json body;
};

enum class Idempotent { no, yes };

// Authenticated requests to Vault over pooled keep-alive connections.
class VaultClient {
  public:
    explicit VaultClient(VaultSettings settings);
    ~VaultClient();

    // Sends `method path` (path from the API root, e.g. "/v1/secret/data/a")
    // with the token and namespace headers. Returns 2xx and 404 answers (the
    // caller knows what a 404 means); throws the mapped pb::Error for any
    // other status, an unreachable server or a body that is not JSON.
    // `what` names the object in messages (a path, never a value).
    VaultResponse call(std::string_view method, const std::string& path, const nlohmann::json* body,
                       Idempotent idempotent, std::string_view what,
                       std::string_view content_type = "application/json");
    // GET /v1/sys/health without a token: any status, body parsed.
    VaultResponse health();
    // "token", "token file" or "approle".
    std::string auth_method() const;
    const VaultSettings& settings() const { return m_settings; }

  private:
    struct Pool;
    struct Sent;
    std::optional<Sent> send(std::string_view method, const std::string& path,
                             const std::string& token, const std::string* body,
                             std::string_view content_type, std::string& error);
    std::string token(bool force_new);
    void approle_login();
    bool renew_self();

    VaultSettings m_settings;
    std::unique_ptr<Pool> m_pool;
    std::mutex m_auth_mutex;
    std::string m_token;
    bool m_renewable = false;
    std::int64_t m_renew_at_ms = 0;  // steady clock; 0: never
    std::int64_t m_lease_ms = 0;
};

// The "errors" of a Vault answer joined with "; " (each cut to 200 bytes).
std::string vault_errors(const nlohmann::json& body);

}  // namespace pb::secrets::detail
