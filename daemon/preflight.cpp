#include "daemon/preflight.hpp"

#include <filesystem>
#include <fstream>
#include <memory>

#include "common/actions/catalog.hpp"
#include "common/core/clock.hpp"
#include "common/core/error.hpp"
#include "common/core/private_file.hpp"
#include "common/runtime/services.hpp"
#include "common/secrets/service.hpp"
#include "common/secrets/vault_backend.hpp"
#include "common/store/store.hpp"
#include "daemon/bootstrap.hpp"

namespace pb::daemon {
namespace {

namespace fs = std::filesystem;

bool is_default(const Config& config, std::string_view key) {
    return config.explain(key)["source"] == "default";
}

void require_readable(const Config& config, std::string_view key) {
    const auto& path = config.get(key);
    if (path.empty()) {
        return;
    }
    std::ifstream in(path);
    if (!in) {
        throw Error(ErrorCode::unavailable,
                    std::string(key) + ": cannot read " + path + " (missing or not readable)",
                    {{"key", key}, {"path", path}});
    }
}

void check_master_key(const Config& config, const std::optional<std::string>& db) {
    std::string path = config.get("security.master_key_file");
    if (path.empty() && !db) {
        // Audited changes (the chain's HMAC), local secrets and signing keys
        // need it, and every pbd and pbctl of one PostgreSQL must share one:
        // refused at the start, not at the first change.
        throw Error(ErrorCode::invalid_argument,
                    "security.master_key_file must be set on PostgreSQL: every pbd and pbctl "
                    "of one database shares one master key file (audit chain, secrets, "
                    "signing keys)",
                    {{"key", "security.master_key_file"}});
    }
    if (path.empty()) {
        if (is_default(config, "db.url")) {
            return;  // none (made on first need), or beside a database pb makes the folder of
        }
        path = (fs::path(*db).parent_path() / "master.key").string();
    }
    std::error_code ec;
    if (!fs::exists(path, ec)) {
        require_parent_folder(path, "security.master_key_file");
        return;  // made, private, on first use
    }
    // Opening it checks its mode and its contents, as the first use would.
    SecretBox::open(path, file_mode_check(config));
}

// The secrets a start on an empty database would find: none in the local
// store (it is created empty), or Vault's.
SecretLookup lookup_without_database(const Config& config,
                                     std::unique_ptr<secrets::Backend>& vault) {
    if (config.get("secrets.backend") != "vault") {
        return [](std::string_view, std::string_view) { return std::optional<std::string>(); };
    }
    return secrets::config_lookup([&config, &vault]() -> secrets::Backend& {
        if (!vault) {
            vault = std::make_unique<secrets::VaultBackend>(
                secrets::vault_settings_from_config(config));
        }
        return *vault;
    });
}

}  // namespace

void check_files(const Config& config) {
    const auto check = file_mode_check(config);
    const auto db = store::sqlite_path(config.get("db.url"));
    if (db && !db->empty()) {
        if (!is_default(config, "db.url")) {
            require_parent_folder(*db, "db.url");
        }
        for (const char* suffix : {"", "-wal", "-shm"}) {
            check_private_mode(*db + suffix, "database", Audience::owner_and_group, check);
        }
    }
    check_master_key(config, db);
    require_readable(config, "db.password_file");
    if (config.get("secrets.backend") == "vault") {
        require_readable(config, "secrets.vault.token_file");
        require_readable(config, "secrets.vault.cacert");
    }
    for (const auto& path : actions::catalog_settings_from_config(config).paths) {
        std::error_code ec;
        if (!fs::exists(path, ec)) {
            throw Error(ErrorCode::unavailable,
                        "actions.paths: " + path.string() + " does not exist",
                        {{"key", "actions.paths"}, {"path", path.string()}});
        }
    }
    if (config.get_bool("server.bootstrap") && !(db && is_default(config, "db.url"))) {
        if (const auto file = bootstrap_key_path(config)) {
            require_parent_folder(*file, "server.bootstrap_key_file");
        }
    }
}

void check_startup(const Config& config) {
    check_files(config);
    const auto db = store::sqlite_path(config.get("db.url"));
    std::error_code ec;
    if (db && !fs::exists(*db, ec)) {
        Config resolved = config;
        std::unique_ptr<secrets::Backend> vault;
        resolved.resolve_secrets(lookup_without_database(config, vault));
        return;
    }
    auto services = Services::open(config, SystemClock::instance(),
                                   {.pool_size = 1, .migrate = Services::Migrate::no});
    services->actions();
    if (config.get_bool("server.bootstrap") && !services->keys().has_active_admin()) {
        require_bootstrap_key_path(config);
    }
}

}  // namespace pb::daemon
