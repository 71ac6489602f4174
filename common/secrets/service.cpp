#include "common/secrets/service.hpp"

#include "common/core/error.hpp"
#include "common/secrets/local_backend.hpp"
#include "common/secrets/vault_backend.hpp"

namespace pb::secrets {

std::unique_ptr<Backend> make_backend(const Config& config, store::Store& store, const Clock& clock,
                                      std::function<const SecretBox&()> box) {
    const auto& kind = config.get("secrets.backend");
    if (kind == "local") {
        return std::make_unique<LocalBackend>(store, clock, std::move(box),
                                              config.get_int("secrets.max_versions"));
    }
    if (kind == "vault") {
        return std::make_unique<VaultBackend>(vault_settings_from_config(config));
    }
    throw Error(ErrorCode::invalid_argument,
                "secrets.backend: expected local or vault, got \"" + kind + "\"",
                {{"key", "secrets.backend"}});
}

SecretLookup config_lookup(std::function<Backend&()> backend) {
    // One read per path; a failure is remembered too, so an unreachable Vault
    // costs one timeout, not one per setting.
    struct Cached {
        std::optional<Fields> fields;
        std::optional<Error> error;
    };
    auto cache = std::make_shared<std::map<std::string, Cached, std::less<>>>();
    return [backend = std::move(backend), cache](
               std::string_view path, std::string_view field) -> std::optional<std::string> {
        auto it = cache->find(path);
        if (it == cache->end()) {
            validate_path(path);
            Cached c;
            try {
                c.fields = backend().read(path, std::nullopt).data;
            } catch (const Error& e) {
                if (e.code() != ErrorCode::not_found) {
                    c.error = e;
                }
            }
            it = cache->emplace(std::string(path), std::move(c)).first;
        }
        if (it->second.error) {
            throw *it->second.error;
        }
        if (!it->second.fields) {
            return std::nullopt;
        }
        const auto f = it->second.fields->find(std::string(field));
        if (f == it->second.fields->end()) {
            return std::nullopt;
        }
        return f->second;
    };
}

}  // namespace pb::secrets
