#include "common/store/sqlite_restore.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <fcntl.h>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include <sqlite3.h>

#include "common/core/error.hpp"
#include "common/core/private_file.hpp"
#include "common/store/migrations.hpp"

namespace pb::store {
namespace {

namespace fs = std::filesystem;

struct Db {
    sqlite3* handle = nullptr;
    Db() = default;
    Db(const Db&) = delete;
    Db& operator=(const Db&) = delete;
    ~Db() { sqlite3_close_v2(handle); }
};

// A file: URI for `path` (SQLite reads %, ? and # in one specially).
std::string file_uri(const std::string& path, std::string_view query) {
    std::string out = "file:";
    for (const char c : fs::absolute(path).string()) {
        if (c == '%' || c == '?' || c == '#') {
            static constexpr char k_hex[] = "0123456789ABCDEF";
            out += '%';
            out += k_hex[(static_cast<unsigned char>(c) >> 4) & 0xF];
            out += k_hex[static_cast<unsigned char>(c) & 0xF];
        } else {
            out += c;
        }
    }
    out += '?';
    out += query;
    return out;
}

// The rows of `sql` as text, or the failure as Error(invalid_argument)
// naming `file` ("… is not a SQLite database", "… is damaged: …").
std::vector<std::vector<std::string>> rows_of(sqlite3* db, const char* sql,
                                              const std::string& file) {
    sqlite3_stmt* stmt = nullptr;
    std::vector<std::vector<std::string>> rows;
    int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr);
    while (rc == SQLITE_OK || rc == SQLITE_ROW) {
        rc = sqlite3_step(stmt);
        if (rc != SQLITE_ROW) {
            break;
        }
        std::vector<std::string> row;
        for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
            const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, i));
            row.emplace_back(text != nullptr ? text : "");
        }
        rows.push_back(std::move(row));
    }
    sqlite3_finalize(stmt);
    if (rc == SQLITE_DONE) {
        return rows;
    }
    const std::string why = sqlite3_errmsg(db);
    switch (rc & 0xFF) {
        case SQLITE_NOTADB:
            throw Error(ErrorCode::invalid_argument,
                        file + " is not a SQLite database (" + why + ")",
                        {{"file", file}, {"problem", "not_sqlite"}});
        case SQLITE_CORRUPT:
            throw Error(ErrorCode::invalid_argument, file + " is damaged: " + why,
                        {{"file", file}, {"problem", "damaged"}});
        case SQLITE_ERROR:
            throw Error(ErrorCode::invalid_argument,
                        file + " is a SQLite database but not pb's (" + why + ")",
                        {{"file", file}, {"problem", "not_pb"}});
        default:
            throw Error(ErrorCode::unavailable, "cannot read " + file + ": " + why,
                        {{"file", file}});
    }
}

[[noreturn]] void not_pb(const std::string& file, const std::string& why) {
    throw Error(ErrorCode::invalid_argument, file + " is not a pb database: " + why,
                {{"file", file}, {"problem", "not_pb"}});
}

// Opens `file` read-only and immutable: SQLite neither locks it nor reads a
// -wal beside it, so what is checked is exactly what is copied.
void open_immutable(const std::string& file, Db& db) {
    if (sqlite3_open_v2(file_uri(file, "immutable=1").c_str(), &db.handle,
                        SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr) != SQLITE_OK) {
        throw Error(ErrorCode::unavailable,
                    "cannot open " + file + ": " +
                        (db.handle != nullptr ? sqlite3_errmsg(db.handle) : "out of memory"),
                    {{"file", file}});
    }
}

// Another process's POSIX lock on `len` bytes of `path` at `start`.
std::optional<pid_t> lock_holder(const std::string& path, off_t start, off_t len) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        return std::nullopt;
    }
    struct flock probe {};
    probe.l_type = F_WRLCK;
    probe.l_whence = SEEK_SET;
    probe.l_start = start;
    probe.l_len = len;
    const int rc = ::fcntl(fd, F_GETLK, &probe);
    // Closing drops this process's own locks on the file: it holds none.
    ::close(fd);
    if (rc != 0 || probe.l_type == F_UNLCK) {
        return std::nullopt;
    }
    return probe.l_pid;
}

void sync_folder(const fs::path& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        ::fsync(fd);
        ::close(fd);
    }
}

// Folds the WAL of the database it replaces into it, so that the copy kept
// as .pre-restore is whole; a database too damaged for that is kept as it is.
void fold_wal(const std::string& db_path) {
    Db db;
    if (sqlite3_open_v2(db_path.c_str(), &db.handle, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK) {
        sqlite3_busy_timeout(db.handle, 1000);
        sqlite3_exec(db.handle, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr);
    }
}

}  // namespace

RestorableFile check_restorable(const std::string& file) {
    std::error_code ec;
    const auto status = fs::status(file, ec);
    if (!fs::exists(status)) {
        throw Error(ErrorCode::not_found, "no file " + file, {{"file", file}});
    }
    if (!fs::is_regular_file(status)) {
        throw Error(ErrorCode::invalid_argument, file + " is not a regular file", {{"file", file}});
    }
    if (::access(file.c_str(), R_OK) != 0) {
        throw Error(ErrorCode::permission_denied, "cannot read " + file, {{"file", file}});
    }
    Db db;
    open_immutable(file, db);
    // The first problems SQLite finds are enough to name; it stops at 10.
    const auto integrity = rows_of(db.handle, "PRAGMA integrity_check(10)", file);
    if (integrity.size() != 1 || integrity[0].empty() || integrity[0][0] != "ok") {
        std::string problems;
        for (const auto& row : integrity) {
            problems += (problems.empty() ? "" : "; ") + (row.empty() ? "?" : row[0]);
        }
        throw Error(ErrorCode::invalid_argument,
                    file + " fails SQLite's integrity check: " + problems,
                    {{"file", file}, {"problem", "damaged"}});
    }
    const auto tables =
        rows_of(db.handle, "SELECT name FROM sqlite_master WHERE type = 'table'", file);
    const auto has_table = [&](std::string_view name) {
        for (const auto& row : tables) {
            if (row.at(0) == name) {
                return true;
            }
        }
        return false;
    };
    if (tables.empty()) {
        not_pb(file, "it has no tables");
    }
    if (!has_table("schema_migrations")) {
        not_pb(file, "it has no schema_migrations table");
    }
    const auto applied =
        rows_of(db.handle, "SELECT version, name FROM schema_migrations ORDER BY version", file);
    const auto known = migrations();
    if (applied.empty()) {
        not_pb(file, "no migration was applied to it");
    }
    RestorableFile out;
    for (const auto& row : applied) {
        std::int64_t version = 0;
        const auto& text = row.at(0);
        if (std::from_chars(text.data(), text.data() + text.size(), version).ec != std::errc()) {
            not_pb(file, "its schema_migrations holds a version that is no number");
        }
        if (version > known.back().version) {
            throw Error(ErrorCode::invalid_argument,
                        file + " has schema version " + std::to_string(version) +
                            ", newer than this pb knows (" + std::to_string(known.back().version) +
                            "): restore it with the pb that made it",
                        {{"file", file},
                         {"problem", "newer_schema"},
                         {"schema_version", version},
                         {"latest_version", known.back().version}});
        }
        const auto it = std::find_if(known.begin(), known.end(),
                                     [&](const Migration& m) { return m.version == version; });
        if (it == known.end() || it->name != row.at(1)) {
            not_pb(file, "its migration " + row.at(0) + " (\"" + row.at(1) + "\") is not pb's");
        }
        out.schema_version = version;
    }
    for (const char* table : {"api_keys", "events", "audit_log"}) {
        if (!has_table(table)) {
            not_pb(file, std::string("it has no ") + table + " table");
        }
    }
    const auto dangling = rows_of(db.handle, "PRAGMA foreign_key_check", file);
    if (!dangling.empty()) {
        throw Error(ErrorCode::invalid_argument,
                    file + " fails the foreign key check: a row of " + dangling[0].at(0) +
                        " refers to a missing row of " + dangling[0].at(2),
                    {{"file", file}, {"problem", "damaged"}});
    }
    out.bytes = static_cast<std::int64_t>(fs::file_size(file, ec));
    return out;
}

std::optional<pid_t> sqlite_holder(const std::string& db_path) {
    // os_unix.c: the WAL-index lock bytes are 120..127 of the -shm file and
    // its DMS byte is 128; every connection in WAL mode holds a read lock on
    // the DMS byte for as long as it is open. Outside WAL mode a reader
    // holds the SHARED range of the database file (from 0x40000000).
    if (auto pid = lock_holder(db_path + "-shm", 120, 9)) {
        return pid;
    }
    return lock_holder(db_path, 0x40000000, 512);
}

RestoreResult restore_sqlite(const std::string& db_path, const std::string& file, WhenHeld held) {
    RestoreResult result;
    result.database = fs::absolute(db_path).lexically_normal().string();
    result.restored = check_restorable(file);
    std::error_code ec;
    if (fs::exists(db_path, ec) && fs::equivalent(db_path, file, ec)) {
        throw Error(ErrorCode::invalid_argument, file + " is the database itself",
                    {{"file", file}});
    }
    require_parent_folder(db_path, "database");
    result.held_by = sqlite_holder(db_path);
    if (result.held_by && held == WhenHeld::refuse) {
        const auto pid = std::to_string(*result.held_by);
        throw Error(ErrorCode::conflict,
                    "the database " + result.database + " is open by process " + pid +
                        " (pbd, or another pbctl): stop it first (e.g. systemctl stop pbd), "
                        "or pass --force and restart it right after",
                    {{"database", result.database}, {"pid", *result.held_by}});
    }
    const fs::path target(result.database);
    const auto partial = result.database + ".restore-partial";
    fs::remove(partial, ec);
    write_new_private_file(partial, "", private_file_mode(target.parent_path()));
    {
        Db src;
        Db dst;
        open_immutable(file, src);
        const auto fail = [&](const std::string& why) {
            fs::remove(partial, ec);
            throw Error(ErrorCode::unavailable, "cannot write " + partial + ": " + why,
                        {{"file", file}});
        };
        if (sqlite3_open_v2(partial.c_str(), &dst.handle, SQLITE_OPEN_READWRITE, nullptr) !=
            SQLITE_OK) {
            fail(dst.handle != nullptr ? sqlite3_errmsg(dst.handle) : "out of memory");
        }
        sqlite3_backup* b = sqlite3_backup_init(dst.handle, "main", src.handle, "main");
        if (b == nullptr) {
            fail(sqlite3_errmsg(dst.handle));
        }
        const int rc = sqlite3_backup_step(b, -1);
        sqlite3_backup_finish(b);
        if (rc != SQLITE_DONE) {
            fail(sqlite3_errstr(rc));
        }
        // Closed here: SQLite syncs the file as its journal commits.
    }
    struct stat old {};
    if (::stat(result.database.c_str(), &old) == 0) {
        // The database's owner and mode, not the restorer's: pbctl run as root
        // must not leave pbd (user pb) a file it cannot open.
        if (::geteuid() == 0) {
            [[maybe_unused]] const int rc = ::chown(partial.c_str(), old.st_uid, old.st_gid);
        }
        ::chmod(partial.c_str(), old.st_mode & 0660);
    }
    if (fs::exists(target, ec)) {
        if (!result.held_by) {
            fold_wal(result.database);
        }
        result.previous = result.database + ".pre-restore";
        fs::remove(result.previous, ec);
        fs::create_hard_link(target, result.previous, ec);
        if (ec) {
            result.previous.clear();  // a folder without hard links: the rename still replaces
        }
    }
    fs::rename(partial, target, ec);
    if (ec) {
        fs::remove(partial, ec);
        throw Error(ErrorCode::unavailable,
                    "cannot replace " + result.database + ": " + ec.message(),
                    {{"database", result.database}});
    }
    // The old WAL would be replayed onto the new file by the next opener.
    fs::remove(result.database + "-wal", ec);
    fs::remove(result.database + "-shm", ec);
    sync_folder(target.parent_path());
    return result;
}

}  // namespace pb::store
