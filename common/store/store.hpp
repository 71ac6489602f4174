#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/core/private_file.hpp"

namespace pb::events {
class Publisher;
}

namespace pb::store {

// A SQL value. Timestamps are int64 Unix milliseconds and JSON is text, so one
// SQL text runs on SQLite and PostgreSQL.
using Value = std::variant<std::nullptr_t, std::int64_t, double, std::string>;
using Params = std::vector<Value>;

// Wraps an optional into a Value (NULL when empty).
template <class T>
Value nullable(const std::optional<T>& v) {
    return v ? Value(*v) : Value(nullptr);
}

// One result row; cells are read by column index.
class Row {
  public:
    explicit Row(std::vector<Value> cells) : m_cells(std::move(cells)) {}
    bool is_null(std::size_t i) const;
    std::int64_t get_int(std::size_t i) const;
    double get_double(std::size_t i) const;
    const std::string& get_text(std::size_t i) const;
    std::optional<std::int64_t> get_opt_int(std::size_t i) const;
    std::optional<std::string> get_opt_text(std::size_t i) const;
    std::size_t size() const { return m_cells.size(); }

  private:
    std::vector<Value> m_cells;
};
using Rows = std::vector<Row>;

enum class Dialect { sqlite, postgresql };

// A database session. SQL uses $1, $2, … placeholders on every dialect.
// Not thread-safe: a connection belongs to one caller at a time (see Store).
class Connection {
  public:
    virtual ~Connection() = default;
    // Runs a statement; returns the number of rows changed.
    virtual std::int64_t exec(std::string_view sql, const Params& params = {}) = 0;
    // Runs a query and returns all its rows.
    virtual Rows query(std::string_view sql, const Params& params = {}) = 0;
    virtual Dialect dialect() const = 0;

    // Runs `fn` once this transaction has committed, never if it rolls back:
    // for telling others about a change only when it really happened.
    // Callbacks must not throw.
    void after_commit(std::function<void()> fn) { m_after_commit->push_back(std::move(fn)); }
    // Where events::append announces events after commit (Redis pub/sub), or
    // nullptr. The store carries it for the events layer, which sees only a
    // Connection.
    events::Publisher* publisher() const { return m_publisher; }

  private:
    friend class Store;
    std::vector<std::function<void()>>* m_after_commit = nullptr;
    events::Publisher* m_publisher = nullptr;
};

// read: no writes intended (on PostgreSQL, statements run outside a
// transaction block, each on its own snapshot). write: READ COMMITTED on
// PostgreSQL, so checks must sit in the write itself (UPDATE … WHERE … RETURNING).
// serializable: for a real check-then-write (read rows, decide, write); may be
// re-run after a serialization failure. SQLite serialises every writer anyway.
enum class TxMode { read, write, serializable };

// The database: a pool of connections behind one small interface. Thread-safe.
// Failures to reach the database are Error(unavailable); constraint violations
// are Error(conflict).
class Store {
  public:
    virtual ~Store() = default;

    // Runs `fn` in a transaction on a pooled connection: commits when it
    // returns, rolls back when it throws (and rethrows). Returns what fn returns.
    // Callbacks given to Connection::after_commit run after the commit, on
    // the calling thread.
    //
    // Called on a thread already inside a transaction of this store, `fn`
    // joins it (nested): it runs on the same connection inside a SAVEPOINT
    // (undone alone when fn throws), and commits with the outer transaction,
    // its after_commit callbacks too. This is how dispatch() makes an op's
    // changes and its audit row one transaction: the services' own
    // transactions join the one dispatch opened. The outer transaction's mode
    // rules; on PostgreSQL a nested `serializable` inside a `write` restarts
    // the outermost transaction as serializable (fn must be re-runnable, as
    // for any serialization retry).
    template <class F>
    auto transaction(F&& fn, TxMode mode = TxMode::write) {
        using R = std::invoke_result_t<F&, Connection&>;
        if (Connection* open = joined(mode)) {
            return nested<R>(*open, fn, mode);
        }
        try {
            return outermost<R>(fn, mode);
        } catch (const RestartSerializable&) {
            return outermost<R>(fn, TxMode::serializable);
        }
    }

    // Set once, before other threads use the store.
    void set_publisher(events::Publisher* publisher) { m_publisher = publisher; }

    // A value that differs after every commit, by any connection or process.
    // Cheap (no syscall on SQLite in WAL mode): caches compare it on every read
    // to invalidate at once.
    virtual std::uint64_t change_token() = 0;

    // True when change_token() moved since the last call of this function.
    bool changed_elsewhere();

    virtual Dialect dialect() const = 0;
    // "sqlite" or "postgresql".
    virtual std::string backend() const = 0;
    // Where the data lives, with any credentials removed.
    virtual std::string location() const = 0;
    // Backend facts for `db status` and /health: pool size and use, etc.
    virtual nlohmann::json info() = 0;

  protected:
    virtual void run_transaction(const std::function<void(Connection&)>& fn, TxMode mode) = 0;

  private:
    // Thrown (not a std::exception: no handler's catch may take it) by a nested
    // serializable transaction inside a PostgreSQL write transaction.
    struct RestartSerializable {};

    // The connection of this thread's open transaction on this store, or
    // nullptr. Throws RestartSerializable (see transaction()).
    Connection* joined(TxMode mode) const;
    // Marks `c` as this thread's open transaction on this store while alive.
    class OpenMark {
      public:
        OpenMark(const Store* store, Connection* c, TxMode mode);
        ~OpenMark();
        OpenMark(const OpenMark&) = delete;
        OpenMark& operator=(const OpenMark&) = delete;
    };
    // SAVEPOINT, RELEASE, ROLLBACK TO: a nested transaction's bounds.
    static std::string savepoint(Connection& c);
    static void release(Connection& c, const std::string& name);
    static void roll_back_to(Connection& c, const std::string& name) noexcept;

    template <class R, class F>
    R nested(Connection& c, F& fn, TxMode mode) {
        if (mode == TxMode::read) {
            return fn(c);  // writes nothing: nothing to undo alone
        }
        const auto name = savepoint(c);
        try {
            if constexpr (std::is_void_v<R>) {
                fn(c);
                release(c, name);
            } else {
                R out = fn(c);
                release(c, name);
                return out;
            }
        } catch (...) {
            roll_back_to(c, name);
            throw;
        }
    }

    template <class R, class F>
    R outermost(F& fn, TxMode mode) {
        std::vector<std::function<void()>> after_commit;
        const auto attempt = [&](Connection& c) {
            after_commit.clear();  // a retried transaction starts over
            c.m_after_commit = &after_commit;
            c.m_publisher = m_publisher;
            OpenMark mark(this, &c, mode);
            if constexpr (std::is_void_v<R>) {
                fn(c);
            } else {
                return fn(c);
            }
        };
        if constexpr (std::is_void_v<R>) {
            run_transaction([&](Connection& c) { attempt(c); }, mode);
            run_all(after_commit);
        } else {
            std::optional<R> out;
            run_transaction([&](Connection& c) { out.emplace(attempt(c)); }, mode);
            run_all(after_commit);
            return std::move(*out);
        }
    }

    static void run_all(std::vector<std::function<void()>>& callbacks) {
        for (auto& f : callbacks) {
            f();
        }
    }

    std::atomic<std::uint64_t> m_seen_token{0};
    events::Publisher* m_publisher = nullptr;
};

enum class Folders { must_exist, create };

struct StoreOptions {
    std::int64_t busy_timeout_ms = 5000;  // also the longest wait for a pooled connection
    int pool_size = 4;
    std::string password;       // PostgreSQL: replaces any password in the URL
    int connect_timeout_s = 5;  // PostgreSQL: unless the URL sets connect_timeout
    // SQLite: create the database's missing folders (0700; only for the
    // default location) or require that its folder exists.
    Folders folders = Folders::must_exist;
    // SQLite: refuse a database (or its -wal, -shm) that every user may read.
    FileModeCheck mode_check = FileModeCheck::strict;
};

// The file path of a SQLite URL (sqlite:///path, sqlite:path or a plain path),
// nullopt for any other scheme.
std::optional<std::string> sqlite_path(std::string_view url);

// Opens the store named by `url`: sqlite:///path, sqlite://relative or a plain
// path (creating the file, 0600 or 0640: see private_file_mode(); its folder
// only with Folders::create), or postgresql://… /
// postgres://… (any libpq URI). Throws Error(unavailable) when it cannot,
// Error(invalid_argument) for an unknown scheme.
std::unique_ptr<Store> open_store(const std::string& url, const StoreOptions& options);

// PostgreSQL support lives in a module (lib/pb/libpb_pg.so beside bin/, or
// $PB_PG_MODULE), loaded by open_store() on the first postgresql:// URL: libpq
// brings some twenty libraries (Kerberos, LDAP, GnuTLS) that every pbctl run on
// SQLite would otherwise pay for at start. The module registers its factory
// when loaded; a program that links pg_store.cpp itself registers it at start.
using StoreFactory = std::unique_ptr<Store> (*)(const std::string& url,
                                                const StoreOptions& options);
void register_postgresql(StoreFactory factory);

}  // namespace pb::store
