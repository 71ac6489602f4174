#include "common/store/store.hpp"

#include <atomic>
#include <dlfcn.h>
#include <filesystem>
#include <mutex>

#include "common/core/error.hpp"
#include "common/store/sqlite_store.hpp"

namespace pb::store {

bool Row::is_null(std::size_t i) const {
    return std::holds_alternative<std::nullptr_t>(m_cells.at(i));
}

std::int64_t Row::get_int(std::size_t i) const {
    const auto& v = m_cells.at(i);
    if (const auto* p = std::get_if<std::int64_t>(&v)) {
        return *p;
    }
    if (const auto* d = std::get_if<double>(&v)) {
        return static_cast<std::int64_t>(*d);
    }
    if (const auto* s = std::get_if<std::string>(&v)) {
        return std::stoll(*s);
    }
    throw Error(ErrorCode::internal,
                "NULL where an integer was expected (column " + std::to_string(i) + ")");
}

double Row::get_double(std::size_t i) const {
    const auto& v = m_cells.at(i);
    if (const auto* d = std::get_if<double>(&v)) {
        return *d;
    }
    return static_cast<double>(get_int(i));
}

const std::string& Row::get_text(std::size_t i) const {
    const auto& v = m_cells.at(i);
    if (const auto* s = std::get_if<std::string>(&v)) {
        return *s;
    }
    throw Error(ErrorCode::internal,
                "non-text value where text was expected (column " + std::to_string(i) + ")");
}

std::optional<std::int64_t> Row::get_opt_int(std::size_t i) const {
    if (is_null(i)) {
        return std::nullopt;
    }
    return get_int(i);
}

std::optional<std::string> Row::get_opt_text(std::size_t i) const {
    if (is_null(i)) {
        return std::nullopt;
    }
    return get_text(i);
}

namespace {

struct OpenTransaction {
    const Store* store;
    Connection* connection;
    TxMode mode;
    int savepoints;
};
// This thread's open transactions, innermost last (one per store, as a rule).
thread_local std::vector<OpenTransaction> t_open;

}  // namespace

Connection* Store::joined(TxMode mode) const {
    for (auto it = t_open.rbegin(); it != t_open.rend(); ++it) {
        if (it->store == this) {
            if (it->mode == TxMode::read && mode != TxMode::read) {
                return nullptr;  // a write inside a read: its own transaction, as before
            }
            // SQLite's writer is serialised whatever the mode; PostgreSQL's
            // READ COMMITTED cannot give a check-then-write what it asks for.
            if (mode == TxMode::serializable && it->mode != TxMode::serializable &&
                dialect() == Dialect::postgresql) {
                throw RestartSerializable{};
            }
            return it->connection;
        }
    }
    return nullptr;
}

Store::OpenMark::OpenMark(const Store* store, Connection* c, TxMode mode) {
    t_open.push_back({store, c, mode, 0});
}

Store::OpenMark::~OpenMark() {
    t_open.pop_back();
}

std::string Store::savepoint(Connection& c) {
    int depth = 0;
    for (auto& t : t_open) {
        if (t.connection == &c) {
            depth = ++t.savepoints;
        }
    }
    const auto name = "pb_nested_" + std::to_string(depth);
    c.exec("SAVEPOINT " + name);
    return name;
}

void Store::release(Connection& c, const std::string& name) {
    c.exec("RELEASE SAVEPOINT " + name);
}

void Store::roll_back_to(Connection& c, const std::string& name) noexcept {
    try {
        c.exec("ROLLBACK TO SAVEPOINT " + name);
        c.exec("RELEASE SAVEPOINT " + name);
    } catch (...) {
        // A broken connection: the outer transaction fails and rolls back anyway.
    }
}

bool Store::changed_elsewhere() {
    const auto token = change_token();
    return m_seen_token.exchange(token) != token;
}

namespace {

std::atomic<StoreFactory> g_postgresql{nullptr};

std::filesystem::path default_module_path() {
    std::error_code ec;
    const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    return (ec ? std::filesystem::path(".") : exe.parent_path()) / ".." / "lib" / "pb" /
           "libpb_pg.so";
}

// The registered factory, loading the module on first use.
StoreFactory postgresql_factory() {
    static std::mutex mutex;
    std::lock_guard lock(mutex);
    if (auto f = g_postgresql.load()) {
        return f;
    }
    const char* env = std::getenv("PB_PG_MODULE");
    const std::string path = env != nullptr && *env != '\0'
                                 ? std::string(env)
                                 : default_module_path().lexically_normal().string();
    // Never unloaded: the factory and its stores live as long as the process.
    if (dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL) == nullptr) {
        const char* why = dlerror();
        throw Error(ErrorCode::unavailable, "PostgreSQL support is not available: cannot load " +
                                                path + ": " +
                                                (why != nullptr ? why : "unknown error"));
    }
    if (auto f = g_postgresql.load()) {
        return f;
    }
    throw Error(ErrorCode::unavailable, path + " is not pb's PostgreSQL module");
}

}  // namespace

void register_postgresql(StoreFactory factory) {
    g_postgresql.store(factory);
}

std::optional<std::string> sqlite_path(std::string_view u) {
    if (u.starts_with("postgresql://") || u.starts_with("postgres://")) {
        return std::nullopt;
    }
    if (u.starts_with("sqlite://")) {
        u.remove_prefix(9);
    } else if (u.starts_with("sqlite:")) {
        u.remove_prefix(7);
    } else if (u.find("://") != std::string_view::npos) {
        return std::nullopt;
    }
    return std::string(u);
}

std::unique_ptr<Store> open_store(const std::string& url, const StoreOptions& options) {
    std::string_view u(url);
    if (u.starts_with("postgresql://") || u.starts_with("postgres://")) {
        return postgresql_factory()(url, options);
    }
    if (u.starts_with("sqlite://")) {
        u.remove_prefix(9);
    } else if (u.starts_with("sqlite:")) {
        u.remove_prefix(7);
    } else if (u.find("://") != std::string_view::npos) {
        const auto scheme = u.substr(0, u.find("://"));
        throw Error(ErrorCode::invalid_argument, "db.url: unsupported database \"" +
                                                     std::string(scheme) +
                                                     "\" (expected sqlite or postgresql)");
    }
    if (u.empty()) {
        throw Error(ErrorCode::invalid_argument, "db.url: empty database path");
    }
    return std::make_unique<SqliteStore>(std::string(u), options);
}

}  // namespace pb::store
