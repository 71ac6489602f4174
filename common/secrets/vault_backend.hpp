#pragma once

#include <memory>

#include "common/core/config.hpp"
#include "common/secrets/backend.hpp"

namespace pb::secrets {

// How to reach and authenticate to Vault (secrets.vault.*).
struct VaultSettings {
    std::string address;  // "https://vault:8200"
    std::string token;
    std::string token_file;
    std::string role_id;  // AppRole: with secret_id, pb logs in itself
    std::string secret_id;
    std::string approle_mount = "approle";
    std::string name_space;  // X-Vault-Namespace
    std::string mount = "secret";
    std::string cacert;
    bool skip_verify = false;
    std::int64_t timeout_ms = 10'000;
    int max_retries = 2;
    std::int64_t backoff_ms = 50;  // first retry's wait; doubles each time
};

// Reads secrets.vault.*; Error(invalid_argument) when the address is missing or
// not http(s), or no way to authenticate is given.
VaultSettings vault_settings_from_config(const Config& config);

// HashiCorp Vault's KV v2 over HTTP(S): data/, metadata/, delete/, undelete/,
// destroy/ under the mount, options.cas, ?version=, LIST (as GET ?list=true),
// PATCH with application/merge-patch+json. TLS is verified unless skip_verify.
// Connections are kept alive and pooled (one per concurrent caller). Reads are
// retried with exponential backoff when Vault cannot be reached or answers
// 5xx; writes are not. An AppRole token is renewed once two thirds of its
// lease have passed, and a new login made when renewal fails. Vault's
// {"errors":[…]} answers become pb errors: 400 check-and-set -> conflict,
// 403 -> permission_denied, 404 -> not_found, 429/5xx/sealed/unreachable ->
// unavailable. Thread-safe.
class VaultBackend final : public Backend {
  public:
    explicit VaultBackend(VaultSettings settings);
    ~VaultBackend() override;

    nlohmann::json status() override;
    Secret read(std::string_view path, std::optional<std::int64_t> version) override;
    std::int64_t write(std::string_view path, const Fields& data,
                       std::optional<std::int64_t> cas) override;
    std::int64_t patch(std::string_view path, const FieldPatch& patch,
                       std::optional<std::int64_t> cas) override;
    std::vector<std::string> list(std::string_view prefix) override;
    Metadata metadata(std::string_view path) override;
    void update_metadata(std::string_view path, const MetadataUpdate& update) override;
    void remove(std::string_view path, const std::vector<std::int64_t>& versions) override;
    void undelete(std::string_view path, const std::vector<std::int64_t>& versions) override;
    void destroy(std::string_view path, const std::vector<std::int64_t>& versions) override;

  private:
    struct Impl;  // keeps cpp-httplib out of this header
    std::unique_ptr<Impl> m_impl;
};

}  // namespace pb::secrets
