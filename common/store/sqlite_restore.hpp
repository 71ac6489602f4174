#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <sys/types.h>

namespace pb::store {

// What check_restorable() found in a database file.
struct RestorableFile {
    std::int64_t schema_version = 0;  // the newest migration applied
    std::int64_t bytes = 0;
};

// Checks, reading only, that `file` can replace a pb SQLite database: it is a
// SQLite database (its own pages only: a -wal beside it is not read), SQLite's
// integrity_check and foreign_key_check pass, and its schema_migrations names
// pb's migrations, by version and name, up to one this build knows.
// Error(not_found) when there is no such file; Error(invalid_argument) naming
// the problem otherwise (not SQLite, damaged, not pb's, newer than this pb).
RestorableFile check_restorable(const std::string& file);

// The process that has the SQLite database `db_path` open, as the locks SQLite
// holds on its -shm file (WAL mode: every open connection holds one) or on
// the database itself show; nullopt when none does. 0 when the holder is
// outside this PID namespace.
std::optional<pid_t> sqlite_holder(const std::string& db_path);

// Whether restore_sqlite() goes on while another process has the database open.
enum class WhenHeld { refuse, replace_anyway };

struct RestoreResult {
    std::string database;          // the path replaced
    std::string previous;          // where the database it replaced is kept, or ""
    RestorableFile restored;       // what was restored
    std::optional<pid_t> held_by;  // a process that had it open (replace_anyway)
};

// Replaces the SQLite database at `db_path` with a copy of `file`, after
// check_restorable(file). Refuses with Error(conflict), changing nothing,
// while a process has the database open (unless WhenHeld::replace_anyway: that
// process keeps the old file open until it restarts). The copy is written
// beside the database, private (as pb creates a database), synced, and renamed
// over it; the database it replaces stays as `<db_path>.pre-restore` (a hard
// link, after folding its WAL in), and the old -wal and -shm are removed so
// that they cannot be replayed onto the new file. Any failure before the
// rename leaves the database as it was.
RestoreResult restore_sqlite(const std::string& db_path, const std::string& file, WhenHeld held);

}  // namespace pb::store
