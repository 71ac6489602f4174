#include "daemon/bootstrap.hpp"

#include <cstdlib>
#include <unistd.h>

#include "common/core/error.hpp"
#include "common/core/log.hpp"
#include "common/core/private_file.hpp"
#include "common/keys/service.hpp"
#include "common/store/store.hpp"

namespace pb::daemon {
namespace {

constexpr const char* k_file_name = "bootstrap-admin.key";

// Removes the key file unless the key it holds was committed.
class PendingKeyFile {
  public:
    explicit PendingKeyFile(std::filesystem::path path) : m_path(std::move(path)) {}
    ~PendingKeyFile() {
        if (m_written && !m_kept) {
            ::unlink(m_path.c_str());
        }
    }
    PendingKeyFile(const PendingKeyFile&) = delete;
    PendingKeyFile& operator=(const PendingKeyFile&) = delete;

    // Idempotent: a retried transaction writes the same key once.
    void write(const std::string& key) {
        if (!m_written) {
            write_new_private_file(m_path, key + "\n", 0600);
            m_written = true;
        }
    }
    void keep() { m_kept = true; }

  private:
    std::filesystem::path m_path;
    bool m_written = false;
    bool m_kept = false;
};

}  // namespace

std::optional<std::filesystem::path> bootstrap_key_path(const Config& config) {
    if (const auto& set = config.get("server.bootstrap_key_file"); !set.empty()) {
        return std::filesystem::path(set);
    }
    if (const auto db = store::sqlite_path(config.get("db.url"))) {
        return std::filesystem::path(*db).parent_path() / k_file_name;
    }
    if (const char* state = std::getenv("STATE_DIRECTORY"); state != nullptr && *state != '\0') {
        const std::string first(state, std::string_view(state).find(':') == std::string_view::npos
                                           ? std::string_view(state).size()
                                           : std::string_view(state).find(':'));
        return std::filesystem::path(first) / k_file_name;
    }
    return std::nullopt;
}

std::filesystem::path require_bootstrap_key_path(const Config& config) {
    auto path = bootstrap_key_path(config);
    if (!path) {
        throw Error(ErrorCode::invalid_argument,
                    "server.bootstrap_key_file: no active key holds admin, so pbd would create "
                    "a bootstrap admin key, but with PostgreSQL it has no default place to write "
                    "it: set server.bootstrap_key_file (PB_BOOTSTRAP_KEY_FILE, "
                    "--bootstrap-key-file) to a file path on this host, or start with "
                    "--no-bootstrap and create an admin key with pbctl on the database",
                    {{"key", "server.bootstrap_key_file"}});
    }
    require_parent_folder(*path, "server.bootstrap_key_file");
    return *path;
}

std::optional<BootstrapKey> create_bootstrap_key(keys::KeyService& keys, const Config& config) {
    // A later start finds the admin key and touches no file.
    if (keys.has_active_admin()) {
        return std::nullopt;
    }
    const auto path = require_bootstrap_key_path(config);
    PendingKeyFile file(path);
    std::optional<keys::CreatedKey> made;
    try {
        made = keys.create_first_admin([&](const keys::CreatedKey& k) { file.write(k.key); });
    } catch (const Error& e) {
        if (e.code() != ErrorCode::conflict) {
            throw;
        }
        // O_EXCL found a file: an earlier bootstrap's (or a daemon beside us
        // is making the key now). Never overwritten: it may be the operator's.
        log::get("daemon")->warn(
            "no bootstrap admin key made: {} already exists (left by an earlier bootstrap?); "
            "remove it and restart pbd for a new one, or create an admin key with pbctl on the "
            "database",
            path.string());
        return std::nullopt;
    }
    if (!made) {
        return std::nullopt;
    }
    file.keep();
    return BootstrapKey{made->record.id, made->key, path};
}

}  // namespace pb::daemon
