#pragma once

#include "common/core/config.hpp"

namespace pb::daemon {

// What pbd checks before it opens anything, at every start and for
// --check-config alike: the SQLite database's folder exists (unless it is the
// default location) and the database is private; the master key is private
// and well formed, or its folder exists; the password and token files can be
// read; every actions.paths entry exists; the bootstrap key file's folder
// exists. Throws the first problem: Error(unavailable) for a file,
// Error(invalid_argument) for a setting.
void check_files(const Config& config);

// pbd --check-config: everything start-up does short of writing, serving and
// making the bootstrap key: check_files(), then, on an existing database,
// Services opened without migrating (every secret: reference and sensitive
// setting resolved as at start), the actions loaded and the bootstrap key's
// file required when one would be made; without a database yet, the secret
// references resolved against the empty local store (or Vault). Throws the
// first problem, as start-up would.
void check_startup(const Config& config);

}  // namespace pb::daemon
