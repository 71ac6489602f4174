#include "common/secrets/vault_backend.hpp"

#include <algorithm>

#include "common/core/error.hpp"
#include "common/core/time_format.hpp"
#include "common/secrets/vault_client.hpp"

namespace pb::secrets {

struct VaultBackend::Impl {
    explicit Impl(VaultSettings settings) : client(std::move(settings)) {}
    detail::VaultClient client;
};

namespace {

using detail::Idempotent;
using nlohmann::json;

// Appends rather than concatenates: GCC 12 warns falsely on '"' + string + '"'.
std::string quoted(std::string_view path) {
    std::string out;
    out.reserve(path.size() + 2);
    out += '"';
    out.append(path);
    out += '"';
    return out;
}

UnixMillis vault_time(const json& j, std::string_view key) {
    if (j.is_object() && j.contains(key) && j[key].is_string()) {
        return parse_rfc3339(j[key].get<std::string>()).value_or(0);
    }
    return 0;
}

[[noreturn]] void garbage(std::string_view what) {
    throw Error(ErrorCode::unavailable,
                "Vault's answer for " + quoted(what) + " does not have KV v2's shape",
                {{"backend", "vault"}});
}

std::string as_text(const json& v) {
    return v.is_string() ? v.get<std::string>() : v.dump();
}

json versions_json(const std::vector<std::int64_t>& versions) {
    return json{{"versions", versions}};
}

}  // namespace

VaultBackend::VaultBackend(VaultSettings settings)
    : m_impl(std::make_unique<Impl>(std::move(settings))) {}

VaultBackend::~VaultBackend() = default;

json VaultBackend::status() {
    const auto& s = m_impl->client.settings();
    const auto health = m_impl->client.health();
    const auto& h = health.body;
    return {{"backend", "vault"},
            {"address", s.address},
            {"auth", m_impl->client.auth_method()},
            {"mount", s.mount},
            {"namespace", s.name_space.empty() ? json(nullptr) : json(s.name_space)},
            {"initialized", h.value("initialized", false)},
            {"sealed", h.value("sealed", true)},
            {"standby", h.value("standby", false)},
            {"version", h.value("version", std::string())},
            {"tls_verify", s.address.starts_with("https://") && !s.skip_verify}};
}

Secret VaultBackend::read(std::string_view path, std::optional<std::int64_t> version) {
    auto url = "/v1/" + m_impl->client.settings().mount + "/data/" + std::string(path);
    if (version) {
        url += "?version=" + std::to_string(*version);
    }
    const auto res = m_impl->client.call("GET", url, nullptr, Idempotent::yes, path);
    const auto& body = res.body;
    if (res.status == 404) {
        // A deleted or destroyed version is a 404 that still carries its metadata.
        const auto meta = body.is_object() && body.contains("data") && body["data"].is_object()
                              ? body["data"].value("metadata", json())
                              : json();
        if (meta.is_object()) {
            const auto v = meta.value("version", version.value_or(0));
            const std::string which = "secret " + quoted(path) + " version " + std::to_string(v);
            if (meta.value("destroyed", false)) {
                throw Error(ErrorCode::not_found, which + " is destroyed", {{"path", path}});
            }
            if (!meta.value("deletion_time", std::string()).empty()) {
                throw Error(ErrorCode::not_found, which + " is deleted (undelete brings it back)",
                            {{"path", path}});
            }
        }
        throw Error(ErrorCode::not_found,
                    version ? "secret " + quoted(path) + " version " + std::to_string(*version) +
                                  " does not exist"
                            : "no secret at " + quoted(path),
                    {{"path", path}});
    }
    if (!body.contains("data") || !body["data"].is_object() ||
        !body["data"].value("data", json()).is_object() ||
        !body["data"].value("metadata", json()).is_object()) {
        garbage(path);
    }
    const auto& meta = body["data"]["metadata"];
    Secret s{std::string(path),
             meta.value("version", std::int64_t{0}),
             vault_time(meta, "created_time"),
             {}};
    for (const auto& [k, v] : body["data"]["data"].items()) {
        s.data.emplace(k, as_text(v));
    }
    return s;
}

namespace {

std::int64_t written_version(const detail::VaultResponse& res, std::string_view path) {
    if (res.status == 404) {
        throw Error(ErrorCode::not_found, "no secret at " + quoted(path), {{"path", path}});
    }
    const auto& body = res.body;
    if (!body.is_object() || !body.contains("data") || !body["data"].is_object() ||
        !body["data"].value("version", json()).is_number_integer()) {
        garbage(path);
    }
    return body["data"]["version"].get<std::int64_t>();
}

}  // namespace

std::int64_t VaultBackend::write(std::string_view path, const Fields& data,
                                 std::optional<std::int64_t> cas) {
    json body{{"data", data}};
    if (cas) {
        body["options"] = {{"cas", *cas}};
    }
    const auto url = "/v1/" + m_impl->client.settings().mount + "/data/" + std::string(path);
    return written_version(m_impl->client.call("POST", url, &body, Idempotent::no, path), path);
}

std::int64_t VaultBackend::patch(std::string_view path, const FieldPatch& patch,
                                 std::optional<std::int64_t> cas) {
    json data = json::object();
    for (const auto& [k, v] : patch) {
        data[k] = v ? json(*v) : json(nullptr);  // null removes the field (RFC 7386)
    }
    json body{{"data", data}};
    if (cas) {
        body["options"] = {{"cas", *cas}};
    }
    const auto url = "/v1/" + m_impl->client.settings().mount + "/data/" + std::string(path);
    return written_version(m_impl->client.call("PATCH", url, &body, Idempotent::no, path,
                                               "application/merge-patch+json"),
                           path);
}

std::vector<std::string> VaultBackend::list(std::string_view prefix) {
    const auto base = folder_of(prefix);
    const auto url = "/v1/" + m_impl->client.settings().mount + "/metadata/" + base + "?list=true";
    const auto res = m_impl->client.call("GET", url, nullptr, Idempotent::yes, prefix);
    if (res.status == 404) {
        return {};  // Vault's answer for a prefix with nothing under it
    }
    const auto& body = res.body;
    if (!body.contains("data") || !body["data"].is_object() ||
        !body["data"].value("keys", json()).is_array()) {
        garbage(prefix);
    }
    std::vector<std::string> out;
    for (const auto& k : body["data"]["keys"]) {
        if (!k.is_string()) {
            garbage(prefix);
        }
        out.push_back(k.get<std::string>());
    }
    std::sort(out.begin(), out.end());
    return out;
}

Metadata VaultBackend::metadata(std::string_view path) {
    const auto url = "/v1/" + m_impl->client.settings().mount + "/metadata/" + std::string(path);
    const auto res = m_impl->client.call("GET", url, nullptr, Idempotent::yes, path);
    if (res.status == 404) {
        throw Error(ErrorCode::not_found, "no secret at " + quoted(path), {{"path", path}});
    }
    if (!res.body.contains("data") || !res.body["data"].is_object()) {
        garbage(path);
    }
    const auto& d = res.body["data"];
    Metadata m;
    m.path = std::string(path);
    m.current_version = d.value("current_version", std::int64_t{0});
    m.oldest_version = d.value("oldest_version", std::int64_t{0});
    m.max_versions = d.value("max_versions", std::int64_t{0});
    m.cas_required = d.value("cas_required", false);
    m.created_at = vault_time(d, "created_time");
    m.updated_at = vault_time(d, "updated_time");
    if (d.contains("custom_metadata") && d["custom_metadata"].is_object()) {
        for (const auto& [k, v] : d["custom_metadata"].items()) {
            m.custom_metadata.emplace(k, as_text(v));
        }
    }
    if (d.contains("versions") && d["versions"].is_object()) {
        for (const auto& [k, v] : d["versions"].items()) {
            VersionInfo info;
            try {
                info.version = std::stoll(k);
            } catch (const std::exception&) {
                garbage(path);
            }
            info.created_at = vault_time(v, "created_time");
            if (const auto deleted = vault_time(v, "deletion_time"); deleted != 0) {
                info.deleted_at = deleted;
            }
            info.destroyed = v.value("destroyed", false);
            m.versions.push_back(info);
        }
    }
    std::sort(m.versions.begin(), m.versions.end(),
              [](const VersionInfo& a, const VersionInfo& b) { return a.version < b.version; });
    return m;
}

void VaultBackend::update_metadata(std::string_view path, const MetadataUpdate& update) {
    json body = json::object();
    if (update.max_versions) {
        body["max_versions"] = *update.max_versions;
    }
    if (update.cas_required) {
        body["cas_required"] = *update.cas_required;
    }
    if (update.custom_metadata) {
        body["custom_metadata"] = *update.custom_metadata;
    }
    const auto url = "/v1/" + m_impl->client.settings().mount + "/metadata/" + std::string(path);
    m_impl->client.call("POST", url, &body, Idempotent::no, path);
}

void VaultBackend::remove(std::string_view path, const std::vector<std::int64_t>& versions) {
    // Vault answers 204 for a path that does not exist; pb says so instead.
    metadata(path);
    const auto& mount = m_impl->client.settings().mount;
    if (versions.empty()) {
        m_impl->client.call("DELETE", "/v1/" + mount + "/data/" + std::string(path), nullptr,
                            Idempotent::no, path);
        return;
    }
    const auto body = versions_json(versions);
    m_impl->client.call("POST", "/v1/" + mount + "/delete/" + std::string(path), &body,
                        Idempotent::no, path);
}

void VaultBackend::undelete(std::string_view path, const std::vector<std::int64_t>& versions) {
    metadata(path);
    const auto body = versions_json(versions);
    m_impl->client.call("POST",
                        "/v1/" + m_impl->client.settings().mount + "/undelete/" + std::string(path),
                        &body, Idempotent::no, path);
}

void VaultBackend::destroy(std::string_view path, const std::vector<std::int64_t>& versions) {
    metadata(path);
    const auto body = versions_json(versions);
    m_impl->client.call("PUT",
                        "/v1/" + m_impl->client.settings().mount + "/destroy/" + std::string(path),
                        &body, Idempotent::no, path);
}

}  // namespace pb::secrets
