#include "common/secrets/vault_client.hpp"

#include <chrono>
#include <fstream>
#include <thread>
#include <vector>

#include <httplib.h>

#include "common/core/error.hpp"
#include "common/core/json_parse.hpp"
#include "common/core/log.hpp"

namespace pb::secrets {

VaultSettings vault_settings_from_config(const Config& config) {
    VaultSettings s;
    s.address = config.get("secrets.vault.address");
    s.token = config.get("secrets.vault.token");
    s.token_file = config.get("secrets.vault.token_file");
    s.role_id = config.get("secrets.vault.role_id");
    s.secret_id = config.get("secrets.vault.secret_id");
    s.approle_mount = config.get("secrets.vault.approle_mount");
    s.name_space = config.get("secrets.vault.namespace");
    s.mount = config.get("secrets.vault.mount");
    s.cacert = config.get("secrets.vault.cacert");
    s.skip_verify = config.get_bool("secrets.vault.skip_verify");
    s.timeout_ms = config.get_duration_ms("secrets.vault.timeout");
    s.max_retries = static_cast<int>(config.get_int("secrets.vault.max_retries"));
    while (!s.address.empty() && s.address.back() == '/') {
        s.address.pop_back();
    }
    if (!s.address.starts_with("http://") && !s.address.starts_with("https://")) {
        throw Error(ErrorCode::invalid_argument,
                    "secrets.vault.address (VAULT_ADDR) must be an http:// or https:// URL when "
                    "secrets.backend is vault",
                    {{"key", "secrets.vault.address"}});
    }
    if (s.token.empty() && s.token_file.empty() && (s.role_id.empty() || s.secret_id.empty())) {
        throw Error(ErrorCode::invalid_argument,
                    "Vault needs a token: set secrets.vault.token (VAULT_TOKEN), "
                    "secrets.vault.token_file, or secrets.vault.role_id and secret_id");
    }
    if (s.mount.empty() || s.mount.find_first_of("/?#") != std::string::npos) {
        throw Error(ErrorCode::invalid_argument, "secrets.vault.mount must be one path segment");
    }
    if (s.max_retries < 0 || s.max_retries > 10) {
        throw Error(ErrorCode::invalid_argument, "secrets.vault.max_retries must be 0 to 10");
    }
    return s;
}

namespace detail {
namespace {

using nlohmann::json;

std::int64_t steady_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

std::string read_token_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        throw Error(ErrorCode::unavailable, "cannot read the Vault token file " + path);
    }
    std::string token((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    while (!token.empty() &&
           (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) {
        token.pop_back();
    }
    if (token.empty()) {
        throw Error(ErrorCode::unavailable, "the Vault token file " + path + " is empty");
    }
    return token;
}

}  // namespace

std::string vault_errors(const json& body) {
    std::string out;
    if (body.is_object() && body.contains("errors") && body["errors"].is_array()) {
        for (const auto& e : body["errors"]) {
            if (e.is_string()) {
                auto text = e.get<std::string>();
                if (text.size() > 200) {
                    text = text.substr(0, 200) + "…";
                }
                out += (out.empty() ? "" : "; ") + text;
            }
        }
    }
    return out;
}

struct VaultClient::Sent {
    int status = 0;
    std::string body;
};

// Idle keep-alive connections; a caller takes one (or makes one) per request.
struct VaultClient::Pool {
    std::mutex mutex;
    std::vector<std::unique_ptr<httplib::Client>> idle;
    static constexpr std::size_t k_max_idle = 16;
};

VaultClient::VaultClient(VaultSettings settings)
    : m_settings(std::move(settings)), m_pool(std::make_unique<Pool>()) {}

VaultClient::~VaultClient() = default;

std::string VaultClient::auth_method() const {
    if (!m_settings.role_id.empty()) {
        return "approle";
    }
    return m_settings.token.empty() ? "token file" : "token";
}

std::optional<VaultClient::Sent> VaultClient::send(std::string_view method, const std::string& path,
                                                   const std::string& token,
                                                   const std::string* body,
                                                   std::string_view content_type,
                                                   std::string& error) {
    std::unique_ptr<httplib::Client> client;
    {
        std::lock_guard lock(m_pool->mutex);
        if (!m_pool->idle.empty()) {
            client = std::move(m_pool->idle.back());
            m_pool->idle.pop_back();
        }
    }
    if (!client) {
        client = std::make_unique<httplib::Client>(m_settings.address);
        if (!client->is_valid()) {
            throw Error(ErrorCode::invalid_argument,
                        "secrets.vault.address is not a usable URL: " + m_settings.address);
        }
        const auto secs = m_settings.timeout_ms / 1000;
        const auto usecs = (m_settings.timeout_ms % 1000) * 1000;
        client->set_connection_timeout(secs, usecs);
        client->set_read_timeout(secs, usecs);
        client->set_write_timeout(secs, usecs);
        client->set_keep_alive(true);
        client->set_tcp_nodelay(true);  // else each keep-alive request waits ~40 ms
        if (!m_settings.cacert.empty()) {
            client->set_ca_cert_path(m_settings.cacert.c_str());
        }
        client->enable_server_certificate_verification(!m_settings.skip_verify);
    }
    httplib::Headers headers{{"X-Vault-Request", "true"}, {"Accept", "application/json"}};
    if (!token.empty()) {
        headers.emplace("X-Vault-Token", token);
    }
    if (!m_settings.name_space.empty()) {
        headers.emplace("X-Vault-Namespace", m_settings.name_space);
    }
    const std::string ct(content_type);
    const std::string empty;
    const std::string& b = body != nullptr ? *body : empty;
    httplib::Result res{nullptr, httplib::Error::Unknown};
    if (method == "GET") {
        res = client->Get(path, headers);
    } else if (method == "POST") {
        res = client->Post(path, headers, b, ct);
    } else if (method == "PUT") {
        res = client->Put(path, headers, b, ct);
    } else if (method == "PATCH") {
        res = client->Patch(path, headers, b, ct);
    } else {
        res = client->Delete(path, headers);
    }
    if (!res) {
        error = httplib::to_string(res.error());
        return std::nullopt;  // the connection is dropped with `client`
    }
    Sent sent{res->status, std::move(res->body)};
    std::lock_guard lock(m_pool->mutex);
    if (m_pool->idle.size() < Pool::k_max_idle) {
        m_pool->idle.push_back(std::move(client));
    }
    return sent;
}

void VaultClient::approle_login() {
    const json req{{"role_id", m_settings.role_id}, {"secret_id", m_settings.secret_id}};
    const auto body = req.dump();
    std::string error;
    const auto sent = send("POST", "/v1/auth/" + m_settings.approle_mount + "/login", "", &body,
                           "application/json", error);
    if (!sent) {
        throw Error(ErrorCode::unavailable,
                    "cannot reach Vault at " + m_settings.address + " to log in: " + error);
    }
    const auto answer = parse_json_or_discarded(sent->body, {k_max_stored_json_depth});
    if (sent->status != 200 || !answer.is_object() || !answer.contains("auth") ||
        !answer["auth"].is_object() || !answer["auth"].value("client_token", json()).is_string()) {
        const auto why = vault_errors(answer);
        throw Error(sent->status >= 500 ? ErrorCode::unavailable : ErrorCode::unauthenticated,
                    "Vault AppRole login failed (HTTP " + std::to_string(sent->status) + ")" +
                        (why.empty() ? "" : ": " + why));
    }
    const auto& auth = answer["auth"];
    m_token = auth["client_token"].get<std::string>();
    m_renewable = auth.value("renewable", false);
    m_lease_ms = auth.value("lease_duration", std::int64_t{0}) * 1000;
    m_renew_at_ms = m_lease_ms > 0 ? steady_ms() + m_lease_ms * 2 / 3 : 0;
    log::get("secrets")->info("vault approle login: lease {}s", m_lease_ms / 1000);
}

bool VaultClient::renew_self() {
    std::string error;
    const std::string body = "{}";
    const auto sent =
        send("POST", "/v1/auth/token/renew-self", m_token, &body, "application/json", error);
    if (!sent || sent->status != 200) {
        return false;
    }
    const auto answer = parse_json_or_discarded(sent->body, {k_max_stored_json_depth});
    if (!answer.is_object() || !answer.contains("auth") || !answer["auth"].is_object()) {
        return false;
    }
    const auto lease = answer["auth"].value("lease_duration", std::int64_t{0}) * 1000;
    // A lease that no longer grows has reached its max TTL: log in again instead.
    if (lease <= 0 || lease < m_lease_ms / 2) {
        return false;
    }
    m_lease_ms = lease;
    m_renew_at_ms = steady_ms() + lease * 2 / 3;
    log::get("secrets")->debug("vault token renewed: lease {}s", lease / 1000);
    return true;
}

std::string VaultClient::token(bool force_new) {
    std::lock_guard lock(m_auth_mutex);
    if (!m_settings.role_id.empty()) {
        const bool due = m_renew_at_ms != 0 && steady_ms() >= m_renew_at_ms;
        if (m_token.empty() || force_new) {
            approle_login();
        } else if (due && !(m_renewable && renew_self())) {
            approle_login();
        }
        return m_token;
    }
    if (!m_settings.token.empty()) {
        return m_settings.token;
    }
    if (m_token.empty() || force_new) {
        m_token = read_token_file(m_settings.token_file);  // Vault Agent rewrites it
    }
    return m_token;
}

VaultResponse VaultClient::health() {
    std::string error;
    const auto sent = send("GET", "/v1/sys/health?standbyok=true&sealedcode=503&uninitcode=501", "",
                           nullptr, "", error);
    if (!sent) {
        throw Error(ErrorCode::unavailable,
                    "cannot reach Vault at " + m_settings.address + ": " + error);
    }
    auto body = parse_json_or_discarded(sent->body, {k_max_stored_json_depth});
    if (!body.is_object()) {
        throw Error(ErrorCode::unavailable, "Vault at " + m_settings.address +
                                                " answered its health check with something that "
                                                "is not JSON (HTTP " +
                                                std::to_string(sent->status) + ")");
    }
    return {sent->status, std::move(body)};
}

VaultResponse VaultClient::call(std::string_view method, const std::string& path, const json* body,
                                Idempotent idempotent, std::string_view what,
                                std::string_view content_type) {
    const std::string text = body != nullptr ? body->dump() : std::string();
    const int attempts = 1 + (idempotent == Idempotent::yes ? m_settings.max_retries : 0);
    bool reauthenticated = false;
    const std::string where = "Vault at " + m_settings.address;
    for (int attempt = 0;; ++attempt) {
        const bool may_retry = attempt + 1 < attempts;
        const auto backoff = [&] {
            std::this_thread::sleep_for(
                std::chrono::milliseconds(m_settings.backoff_ms << std::min(attempt, 10)));
        };
        std::string error;
        const auto sent = send(method, path, token(false), body != nullptr ? &text : nullptr,
                               content_type, error);
        if (!sent) {
            if (may_retry) {
                backoff();
                continue;
            }
            throw Error(ErrorCode::unavailable, "cannot reach " + where + ": " + error,
                        {{"backend", "vault"}});
        }
        const int status = sent->status;
        auto parsed = sent->body.empty()
                          ? json(nullptr)
                          : parse_json_or_discarded(sent->body, {k_max_stored_json_depth});
        const auto why = vault_errors(parsed);
        const std::string suffix = why.empty() ? "" : ": " + why;
        if ((status >= 500 || status == 429) && may_retry &&
            why.find("sealed") == std::string::npos) {
            backoff();
            continue;
        }
        if (status == 403 && !reauthenticated && m_settings.token.empty()) {
            // An expired AppRole token or a rotated token file: authenticate once more.
            reauthenticated = true;
            token(true);
            continue;
        }
        if ((status >= 200 && status < 300) || status == 404) {
            if (parsed.is_discarded() || (status != 204 && status != 404 && !parsed.is_object())) {
                throw Error(ErrorCode::unavailable,
                            where + " answered with something that is not Vault's JSON (HTTP " +
                                std::to_string(status) + ")",
                            {{"backend", "vault"}});
            }
            if (parsed.is_discarded()) {
                parsed = nullptr;
            }
            return {status, std::move(parsed)};
        }
        const json details{{"backend", "vault"}, {"status", status}, {"path", what}};
        std::string subject(1, '"');  // appended: GCC 12 warns falsely on '"' + s + '"'
        subject.append(what);
        subject += '"';
        if (status == 400 && why.find("check-and-set") != std::string::npos) {
            throw Error(ErrorCode::conflict, "check-and-set failed for " + subject + suffix,
                        details);
        }
        if (status == 400) {
            throw Error(ErrorCode::invalid_argument, "Vault refused " + subject + suffix, details);
        }
        if (status == 401 || status == 403) {
            throw Error(ErrorCode::permission_denied, "Vault denied access to " + subject + suffix,
                        details);
        }
        if (status == 503 && why.find("sealed") != std::string::npos) {
            throw Error(ErrorCode::unavailable, where + " is sealed", details);
        }
        if (status >= 500 || status == 429) {
            throw Error(ErrorCode::unavailable,
                        where + " failed (HTTP " + std::to_string(status) + ")" + suffix, details);
        }
        throw Error(ErrorCode::internal,
                    where + " answered HTTP " + std::to_string(status) + " for " + subject + suffix,
                    details);
    }
}

}  // namespace detail
}  // namespace pb::secrets
