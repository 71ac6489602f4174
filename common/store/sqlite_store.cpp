#include "common/store/sqlite_store.hpp"

#include <cctype>
#include <charconv>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <sys/mman.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <unordered_map>

#include <sqlite3.h>

#include "common/core/error.hpp"

namespace pb::store {
namespace {

struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

[[noreturn]] void fail(sqlite3* db, int rc, std::string_view what) {
    const std::string msg =
        std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    switch (rc & 0xFF) {
        case SQLITE_CONSTRAINT:
            throw Error(ErrorCode::conflict, msg);
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
        case SQLITE_CANTOPEN:
        case SQLITE_IOERR:
        case SQLITE_FULL:
        case SQLITE_READONLY:
        case SQLITE_PERM:
            throw Error(ErrorCode::unavailable, msg);
        default:
            throw Error(ErrorCode::internal, msg);
    }
}

}  // namespace

class SqliteConnection final : public Connection {
  public:
    SqliteConnection(const std::string& path, std::int64_t busy_timeout_ms,
                     LatencyHistogram& statements)
        : m_statements_timed(statements) {
        const int rc = sqlite3_open_v2(
            path.c_str(), &m_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
            nullptr);
        if (rc != SQLITE_OK) {
            std::string msg = "cannot open database " + path + ": " + sqlite3_errstr(rc);
            sqlite3_close_v2(m_db);
            m_db = nullptr;
            throw Error(ErrorCode::unavailable, msg);
        }
        sqlite3_busy_timeout(m_db, static_cast<int>(busy_timeout_ms));
        try {
            set_wal_mode(busy_timeout_ms);
            exec_plain("PRAGMA synchronous=NORMAL");
            exec_plain("PRAGMA foreign_keys=ON");
            m_data_version = read_data_version();
        } catch (...) {
            // The destructor does not run for a half-built object.
            finalize_all();
            sqlite3_close_v2(m_db);
            throw;
        }
    }

    ~SqliteConnection() override {
        finalize_all();
        sqlite3_close_v2(m_db);
    }

    void finalize_all() {
        for (auto& [sql, stmt] : m_statements) {
            sqlite3_finalize(stmt.handle);
        }
        m_statements.clear();
    }

    SqliteConnection(const SqliteConnection&) = delete;
    SqliteConnection& operator=(const SqliteConnection&) = delete;

    std::int64_t exec(std::string_view sql, const Params& params) override {
        const ScopedTimer timer(m_statements_timed);
        auto& stmt = prepare(sql, params);
        int rc = SQLITE_OK;
        while ((rc = sqlite3_step(stmt.handle)) == SQLITE_ROW) {
        }
        sqlite3_reset(stmt.handle);
        if (rc != SQLITE_DONE) {
            fail(m_db, rc, "statement failed");
        }
        return sqlite3_changes64(m_db);
    }

    Rows query(std::string_view sql, const Params& params) override {
        const ScopedTimer timer(m_statements_timed);
        auto& stmt = prepare(sql, params);
        Rows rows;
        int rc = SQLITE_OK;
        const int ncol = sqlite3_column_count(stmt.handle);
        while ((rc = sqlite3_step(stmt.handle)) == SQLITE_ROW) {
            std::vector<Value> cells;
            cells.reserve(static_cast<std::size_t>(ncol));
            for (int i = 0; i < ncol; ++i) {
                switch (sqlite3_column_type(stmt.handle, i)) {
                    case SQLITE_INTEGER:
                        cells.emplace_back(
                            static_cast<std::int64_t>(sqlite3_column_int64(stmt.handle, i)));
                        break;
                    case SQLITE_FLOAT:
                        cells.emplace_back(sqlite3_column_double(stmt.handle, i));
                        break;
                    case SQLITE_NULL:
                        cells.emplace_back(nullptr);
                        break;
                    default: {
                        const auto* text =
                            reinterpret_cast<const char*>(sqlite3_column_text(stmt.handle, i));
                        const int n = sqlite3_column_bytes(stmt.handle, i);
                        cells.emplace_back(
                            std::string(text ? text : "", static_cast<std::size_t>(n)));
                    }
                }
            }
            rows.emplace_back(std::move(cells));
        }
        sqlite3_reset(stmt.handle);
        if (rc != SQLITE_DONE) {
            fail(m_db, rc, "query failed");
        }
        return rows;
    }

    Dialect dialect() const override { return Dialect::sqlite; }

    void exec_plain(const char* sql) {
        char* err = nullptr;
        const int rc = sqlite3_exec(m_db, sql, nullptr, nullptr, &err);
        if (rc != SQLITE_OK) {
            sqlite3_free(err);
            fail(m_db, rc, sql);
        }
    }

    // Switching a new file to WAL needs an exclusive lock, and SQLite answers
    // SQLITE_BUSY at once, without the busy handler, when another connection is
    // switching it too (pbd and pbctl starting together): retry until the timeout.
    void set_wal_mode(std::int64_t busy_timeout_ms) {
        for (std::int64_t waited = 0;; waited += 5) {
            const int rc = sqlite3_exec(m_db, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
            if (rc == SQLITE_OK) {
                return;
            }
            if ((rc & 0xFF) != SQLITE_BUSY || waited >= busy_timeout_ms) {
                fail(m_db, rc, "PRAGMA journal_mode=WAL");
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    }

    // True when another connection committed since the last call.
    bool data_version_changed() {
        const auto v = read_data_version();
        const bool changed = v != m_data_version;
        m_data_version = v;
        return changed;
    }

  private:
    struct Statement {
        sqlite3_stmt* handle = nullptr;
        std::vector<int> param_index;  // SQLite parameter i+1 binds params[param_index[i]]
    };

    std::int64_t read_data_version() {
        auto rows = query("PRAGMA data_version", {});
        return rows.empty() ? 0 : rows.front().get_int(0);
    }

    Statement& prepare(std::string_view sql, const Params& params) {
        auto it = m_statements.find(sql);
        if (it == m_statements.end()) {
            Statement stmt;
            const char* tail = nullptr;
            const int rc = sqlite3_prepare_v3(m_db, sql.data(), static_cast<int>(sql.size()),
                                              SQLITE_PREPARE_PERSISTENT, &stmt.handle, &tail);
            if (rc != SQLITE_OK) {
                fail(m_db, rc, "cannot prepare statement");
            }
            // SQLite prepares only the first statement; running the rest silently
            // not at all would be worse than refusing.
            for (const char* end = sql.data() + sql.size(); tail != nullptr && tail < end; ++tail) {
                if (*tail != ';' && !std::isspace(static_cast<unsigned char>(*tail))) {
                    sqlite3_finalize(stmt.handle);
                    throw Error(ErrorCode::internal, "one SQL statement per call");
                }
            }
            const int n = sqlite3_bind_parameter_count(stmt.handle);
            for (int i = 1; i <= n; ++i) {
                const char* name = sqlite3_bind_parameter_name(stmt.handle, i);
                int index = 0;
                if (name == nullptr || name[0] != '$' ||
                    std::from_chars(name + 1, name + std::strlen(name), index).ec != std::errc() ||
                    index < 1) {
                    sqlite3_finalize(stmt.handle);
                    throw Error(ErrorCode::internal, "SQL placeholders must be $1, $2, …");
                }
                stmt.param_index.push_back(index - 1);
            }
            it = m_statements.emplace(std::string(sql), stmt).first;
        }
        auto& stmt = it->second;
        sqlite3_clear_bindings(stmt.handle);
        for (std::size_t i = 0; i < stmt.param_index.size(); ++i) {
            const auto idx = static_cast<std::size_t>(stmt.param_index[i]);
            if (idx >= params.size()) {
                throw Error(ErrorCode::internal,
                            "missing SQL parameter $" + std::to_string(idx + 1));
            }
            const int pos = static_cast<int>(i + 1);
            const auto& v = params[idx];
            int rc = SQLITE_OK;
            if (const auto* n = std::get_if<std::int64_t>(&v)) {
                rc = sqlite3_bind_int64(stmt.handle, pos, *n);
            } else if (const auto* d = std::get_if<double>(&v)) {
                rc = sqlite3_bind_double(stmt.handle, pos, *d);
            } else if (const auto* s = std::get_if<std::string>(&v)) {
                rc = sqlite3_bind_text(stmt.handle, pos, s->data(), static_cast<int>(s->size()),
                                       SQLITE_STATIC);
            } else {
                rc = sqlite3_bind_null(stmt.handle, pos);
            }
            if (rc != SQLITE_OK) {
                fail(m_db, rc, "cannot bind parameter");
            }
        }
        return stmt;
    }

    LatencyHistogram& m_statements_timed;
    sqlite3* m_db = nullptr;
    std::unordered_map<std::string, Statement, StringHash, std::equal_to<>> m_statements;
    std::int64_t m_data_version = 0;
};

class SqliteStore::Lease {
  public:
    explicit Lease(SqliteStore& s) : m_store(s), m_conn(s.acquire()) {}
    ~Lease() { m_store.release(m_conn); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    SqliteConnection& operator*() { return m_conn; }

  private:
    SqliteStore& m_store;
    SqliteConnection& m_conn;
};

// A read-only view of the WAL-index header in the "-shm" file (the documented
// SQLite WAL format, https://www.sqlite.org/walformat.html). Every commit, by
// any process, rewrites it: iChange counts transactions, mxFrame and the salts
// move with each commit and checkpoint reset. Reading it costs nanoseconds where
// PRAGMA data_version costs a read transaction with file-lock syscalls
// (~2.5 µs). The file stays mapped safely: SQLite only truncates or removes it
// when no connection has it open, and our pool keeps connections open.
class SqliteStore::WalIndexView {
  public:
    static std::unique_ptr<WalIndexView> open(const std::string& db_path) {
        const std::string path = db_path + "-shm";
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            return nullptr;
        }
        struct stat st {};
        void* map = MAP_FAILED;
        if (fstat(fd, &st) == 0 && st.st_size >= k_header_size) {
            map = mmap(nullptr, k_header_size, PROT_READ, MAP_SHARED, fd, 0);
        }
        if (map == MAP_FAILED) {
            ::close(fd);
            return nullptr;
        }
        // The descriptor stays open as long as the view: closing any descriptor
        // of a file drops every POSIX lock this process holds on it, SQLite's
        // "-shm" DMS lock included, and without that lock the next process to
        // open the database truncates the "-shm" under our connections' mappings
        // (SIGBUS).
        return std::unique_ptr<WalIndexView>(new WalIndexView(map, fd));
    }
    ~WalIndexView() {
        munmap(m_map, k_header_size);
        ::close(m_fd);
    }
    WalIndexView(const WalIndexView&) = delete;
    WalIndexView& operator=(const WalIndexView&) = delete;

    std::uint64_t token() const {
        // First header copy: the writer updates it last, so a change here means
        // the commit is complete.
        const auto* words = static_cast<const std::uint32_t*>(m_map);
        const std::uint64_t i_change = __atomic_load_n(&words[2], __ATOMIC_ACQUIRE);
        const std::uint64_t mx_frame = __atomic_load_n(&words[4], __ATOMIC_ACQUIRE);
        const std::uint64_t salt1 = __atomic_load_n(&words[8], __ATOMIC_ACQUIRE);
        const std::uint64_t salt2 = __atomic_load_n(&words[9], __ATOMIC_ACQUIRE);
        return (i_change << 32 | mx_frame) ^ (salt1 * 0x9E3779B97F4A7C15ULL) ^ (salt2 << 17);
    }

  private:
    static constexpr off_t k_header_size = 136;  // two 48-byte header copies and checkpoint info
    WalIndexView(void* map, int fd) : m_map(map), m_fd(fd) {}
    void* m_map;
    int m_fd;
};

SqliteStore::SqliteStore(std::string path, const StoreOptions& options) : m_path(std::move(path)) {
    const std::filesystem::path file(m_path);
    const auto parent = file.parent_path();
    if (options.folders == Folders::create) {
        create_private_folders(parent);
    } else {
        require_parent_folder(file, "database");
    }
    for (const char* suffix : {"", "-wal", "-shm"}) {
        check_private_mode(m_path + suffix, "database", Audience::owner_and_group,
                           options.mode_check);
    }
    // SQLite would create the file 0644 less the umask; its -wal and -shm
    // take the database's mode, so creating it here sets theirs too.
    std::error_code ec;
    if (!std::filesystem::exists(file, ec)) {
        try {
            write_new_private_file(file, "", private_file_mode(parent));
        } catch (const Error& e) {
            if (e.code() != ErrorCode::conflict) {  // conflict: another process made it first
                throw;
            }
        }
    }
    const int n = std::max(1, options.pool_size);
    m_stats.pool_size = static_cast<std::size_t>(n);
    for (int i = 0; i < n; ++i) {
        m_all.push_back(std::make_unique<SqliteConnection>(m_path, options.busy_timeout_ms,
                                                           m_stats.statements));
        m_free.push_back(m_all.back().get());
    }
    m_wal_index = WalIndexView::open(m_path);
}

SqliteStore::~SqliteStore() = default;

SqliteConnection& SqliteStore::acquire() {
    std::unique_lock lock(m_mutex);
    if (m_free.empty()) {
        const auto start = std::chrono::steady_clock::now();
        m_available.wait(lock, [this] { return !m_free.empty(); });
        m_stats.pool_waits.fetch_add(1, std::memory_order_relaxed);
        m_stats.pool_wait_ns.fetch_add(
            static_cast<std::uint64_t>((std::chrono::steady_clock::now() - start).count()),
            std::memory_order_relaxed);
    }
    auto* c = m_free.back();
    m_free.pop_back();
    m_stats.pool_in_use.fetch_add(1, std::memory_order_relaxed);
    return *c;
}

void SqliteStore::release(SqliteConnection& c) {
    m_stats.pool_in_use.fetch_sub(1, std::memory_order_relaxed);
    {
        std::lock_guard lock(m_mutex);
        m_free.push_back(&c);
    }
    m_available.notify_one();
}

void SqliteStore::run_transaction(const std::function<void(Connection&)>& fn, TxMode mode) {
    const ScopedTimer timer(m_stats.transactions);
    Lease lease(*this);
    auto& conn = *lease;
    conn.exec_plain(mode == TxMode::read ? "BEGIN" : "BEGIN IMMEDIATE");
    try {
        fn(conn);
        conn.exec_plain("COMMIT");
    } catch (...) {
        try {
            conn.exec_plain("ROLLBACK");
        } catch (...) {
            // The original failure is what the caller needs to see.
        }
        throw;
    }
}

std::uint64_t SqliteStore::change_token() {
    if (m_wal_index) {
        return m_wal_index->token();
    }
    Lease lease(*this);
    if ((*lease).data_version_changed()) {
        return m_fallback_token.fetch_add(1) + 1;
    }
    return m_fallback_token.load();
}

nlohmann::json SqliteStore::info() {
    std::lock_guard lock(m_mutex);
    return {{"pool_size", m_all.size()},
            {"pool_in_use", m_all.size() - m_free.size()},
            {"sqlite_version", sqlite3_libversion()},
            {"journal_mode", "wal"}};
}

}  // namespace pb::store
