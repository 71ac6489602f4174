#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <sys/types.h>

namespace pb {

// Whether pb refuses files that other users can read (security.allow_insecure_permissions,
// --allow-insecure-permissions).
enum class FileModeCheck { strict, allow_insecure };

// What may not be set on a private file: no bit for other users (the database,
// whose group may read it where the package shares its folder), or no bit for
// the group either (the master key, the bootstrap admin key).
enum class Audience { owner_and_group, owner_only };

// Refuses (Error unavailable, exit 7) an existing `path` whose mode grants
// anything `audience` forbids, naming `what`, the path, its mode and the way
// out; does nothing for a missing file or with FileModeCheck::allow_insecure.
void check_private_mode(const std::filesystem::path& path, std::string_view what, Audience audience,
                        FileModeCheck check);

// The mode of a new database file in `dir`: 0640 when the folder is shared
// with the process's own group and with nobody else (drwxr-x--- pb:pb, as the
// package makes /var/lib/pb), else 0600.
mode_t private_file_mode(const std::filesystem::path& dir);

// Creates `path` (O_CREAT|O_EXCL|O_NOFOLLOW: never an existing file or a
// symbolic link) with exactly `mode`, writes `text` and syncs it. Error(conflict)
// when the path exists, Error(unavailable) for any other failure (nothing is
// left behind then).
void write_new_private_file(const std::filesystem::path& path, std::string_view text,
                            mode_t mode = 0600);

// Creates the missing folders of `dir`, each 0700 (the default location only:
// pb never creates a folder the operator named). Error(unavailable).
void create_private_folders(const std::filesystem::path& dir);

// Error(unavailable) naming `what` and `path` when the folder `path` would be
// created in does not exist: "the folder /x of db.url /x/pb.db does not exist".
void require_parent_folder(const std::filesystem::path& path, std::string_view what);

}  // namespace pb
