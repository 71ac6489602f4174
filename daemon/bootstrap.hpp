#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "common/core/config.hpp"

namespace pb::keys {
class KeyService;
}

namespace pb::daemon {

// Where pbd writes the bootstrap admin key: server.bootstrap_key_file; else
// bootstrap-admin.key beside the SQLite database; else (PostgreSQL) in the
// first folder of $STATE_DIRECTORY (systemd's StateDirectory=); else nullopt.
std::optional<std::filesystem::path> bootstrap_key_path(const Config& config);

// bootstrap_key_path(), or Error(invalid_argument) telling the operator to set
// server.bootstrap_key_file; Error(unavailable) when its folder does not exist.
std::filesystem::path require_bootstrap_key_path(const Config& config);

// The key pbd made at start, and the file that holds it.
struct BootstrapKey {
    std::string id;
    std::string key;
    std::filesystem::path file;
};

// When no active key holds admin: makes one and writes it to its file (new,
// 0600, before the key commits; removed when the commit fails), so that the
// secret exists in that file and nowhere else. nullopt when an admin key
// exists or another process made it first, or when the file already exists
// (logged: it is an earlier bootstrap's; no key is made then). Errors of
// require_bootstrap_key_path(), or Error(unavailable) when the file cannot
// be written (no key is committed then).
std::optional<BootstrapKey> create_bootstrap_key(keys::KeyService& keys, const Config& config);

}  // namespace pb::daemon
