#include "common/store/pg_store.hpp"

#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pqxx/pqxx>
#include <random>
#include <unistd.h>
#include <unordered_map>

#include "common/core/error.hpp"
#include "common/core/log.hpp"

namespace pb::store {
namespace {

constexpr int k_attempts = 8;  // per transaction, for serialization failures and lost connections
constexpr std::size_t k_max_prepared = 512;

// PostgreSQL type OIDs (pg_type.h) of the results we convert.
constexpr pqxx::oid k_bool = 16, k_int8 = 20, k_int2 = 21, k_int4 = 23, k_oid = 26, k_float4 = 700,
                    k_float8 = 701, k_numeric = 1700;

struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// Classes 08 (connection), 53 (resources), 57 (operator intervention: shutdown,
// restart) mean the server cannot serve us now, not that the request is wrong.
bool server_gone(const std::string& sqlstate) {
    return sqlstate.starts_with("08") || sqlstate.starts_with("53") || sqlstate.starts_with("57");
}

std::string quote_conninfo(std::string_view v) {
    std::string out = "'";
    for (char ch : v) {
        if (ch == '\\' || ch == '\'') {
            out += '\\';
        }
        out += ch;
    }
    return out + "'";
}

Value cell(const pqxx::field& f, pqxx::oid type) {
    if (f.is_null()) {
        return nullptr;
    }
    const std::string_view text(f.c_str(), f.size());
    auto as_int = [&]() -> Value {
        std::int64_t v = 0;
        if (std::from_chars(text.data(), text.data() + text.size(), v).ec == std::errc()) {
            return v;
        }
        return std::string(text);
    };
    switch (type) {
        case k_bool:
            return std::int64_t{text == "t" ? 1 : 0};
        case k_int2:
        case k_int4:
        case k_int8:
        case k_oid:
            return as_int();
        case k_numeric:
            if (text.find_first_of(".eEN") == std::string_view::npos) {
                return as_int();
            }
            [[fallthrough]];
        case k_float4:
        case k_float8:
            return std::strtod(std::string(text).c_str(), nullptr);
        default:
            return std::string(text);
    }
}

}  // namespace

PgTarget pg_target(const std::string& url, const std::string& password, int connect_timeout_s) {
    char* err = nullptr;
    PQconninfoOption* opts = PQconninfoParse(url.c_str(), &err);
    if (opts == nullptr) {
        std::string why = err ? err : "out of memory";
        PQfreemem(err);
        while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) {
            why.pop_back();
        }
        // libpq's message may quote part of the URL; it is about syntax, never the password.
        throw Error(ErrorCode::invalid_argument, "db.url: not a PostgreSQL URL (" + why + ")");
    }
    PgTarget t;
    std::string user, host, port, dbname;
    bool has_timeout = false;
    bool has_name = false;
    for (auto* o = opts; o->keyword != nullptr; ++o) {
        if (o->val == nullptr || o->val[0] == '\0') {
            continue;
        }
        const std::string_view key = o->keyword;
        if (key == "password" && !password.empty()) {
            continue;
        }
        t.conninfo += std::string(key) + "=" + quote_conninfo(o->val) + " ";
        if (key == "user") {
            user = o->val;
        } else if (key == "host" || (key == "hostaddr" && host.empty())) {
            host = o->val;
        } else if (key == "port") {
            port = o->val;
        } else if (key == "dbname") {
            dbname = o->val;
        } else if (key == "connect_timeout") {
            has_timeout = true;
        } else if (key == "application_name") {
            has_name = true;
        }
    }
    PQconninfoFree(opts);
    if (!password.empty()) {
        t.conninfo += "password=" + quote_conninfo(password) + " ";
    }
    if (!has_timeout) {
        t.conninfo += "connect_timeout=" + std::to_string(std::max(1, connect_timeout_s)) + " ";
    }
    if (!has_name) {
        t.conninfo += "application_name='pb'";
    }
    t.location = "postgresql://" + (user.empty() ? "" : user + "@") +
                 (host.empty() ? "localhost" : host) + (port.empty() ? "" : ":" + port) + "/" +
                 dbname;
    return t;
}

// One pooled server session and its prepared statements. Doubles as the
// Connection handed to a transaction's body while a transaction is open.
class PgSession final : public Connection {
  public:
    PgSession(const std::string& conninfo, LatencyHistogram& statements)
        : m_conninfo(conninfo), m_statements_timed(statements) {}

    // Connects when the session has none or lost it; throws pqxx::broken_connection.
    void ensure_open() {
        if (m_conn && m_conn->is_open()) {
            return;
        }
        drop();
        m_conn = std::make_unique<pqxx::connection>(m_conninfo);
    }
    void drop() {
        m_tx = nullptr;
        m_prepared.clear();
        m_conn.reset();
    }
    bool connected() const { return m_conn && m_conn->is_open(); }
    pqxx::connection& conn() { return *m_conn; }

    void begin(pqxx::transaction_base& tx) {
        m_tx = &tx;
        m_wrote = false;
    }
    void end() { m_tx = nullptr; }
    bool wrote() const { return m_wrote; }

    std::int64_t exec(std::string_view sql, const Params& params) override {
        const auto r = run(sql, params);
        return static_cast<std::int64_t>(r.affected_rows());
    }

    Rows query(std::string_view sql, const Params& params) override {
        const auto r = run(sql, params);
        const auto ncol = r.columns();
        std::vector<pqxx::oid> types(ncol);
        for (pqxx::row::size_type i = 0; i < ncol; ++i) {
            types[i] = r.column_type(i);
        }
        Rows rows;
        rows.reserve(r.size());
        for (const auto& row : r) {
            std::vector<Value> cells;
            cells.reserve(ncol);
            for (pqxx::row::size_type i = 0; i < ncol; ++i) {
                cells.push_back(cell(row[i], types[i]));
            }
            rows.emplace_back(std::move(cells));
        }
        return rows;
    }

    Dialect dialect() const override { return Dialect::postgresql; }

  private:
    pqxx::result run(std::string_view sql, const Params& params) {
        if (m_tx == nullptr) {
            throw Error(ErrorCode::internal, "SQL outside a transaction");
        }
        const ScopedTimer timer(m_statements_timed);
        try {
            // A statement in flight when the server drops the connection leaks
            // its PGresult inside libpqxx 6.4 (make_result asks the broken
            // connection for its encoding, which throws, before the result is
            // owned; libpqxx 7 frees it): about 2 KB per such loss, nothing
            // pb can free. A connection dropped while idle fails cleanly.
            // The extended protocol even without parameters: it refuses several
            // statements in one call, as SQLite does, rather than running them all.
            pqxx::result r =
                params.empty() ? m_tx->exec_params(std::string(sql)) : run_params(sql, params);
            note_write(sql, r);
            return r;
        } catch (const pqxx::integrity_constraint_violation& e) {
            throw Error(ErrorCode::conflict, std::string("constraint violated: ") + e.what());
        } catch (const pqxx::sql_error& e) {
            if (server_gone(e.sqlstate())) {
                throw;  // the transaction runner reconnects or reports unavailable
            }
            if (e.sqlstate() == "40001" || e.sqlstate() == "40P01") {
                throw;  // retried by the transaction runner
            }
            throw Error(ErrorCode::internal, std::string("statement failed: ") + e.what());
        }
    }

    // Hot statements carry parameters; each distinct text is prepared once per
    // session (libpqxx prepares lazily, on first execution).
    pqxx::result run_params(std::string_view sql, const Params& params) {
        std::vector<std::string> texts;
        texts.reserve(params.size());
        std::vector<const char*> values;
        values.reserve(params.size());
        for (const auto& v : params) {
            if (const auto* n = std::get_if<std::int64_t>(&v)) {
                texts.push_back(std::to_string(*n));
            } else if (const auto* d = std::get_if<double>(&v)) {
                char buf[32];
                const auto res = std::to_chars(buf, buf + sizeof buf, *d);
                texts.emplace_back(buf, res.ptr);
            } else if (const auto* s = std::get_if<std::string>(&v)) {
                texts.push_back(*s);
            } else {
                texts.emplace_back();
            }
        }
        for (std::size_t i = 0; i < params.size(); ++i) {
            values.push_back(std::holds_alternative<std::nullptr_t>(params[i]) ? nullptr
                                                                               : texts[i].c_str());
        }
        const auto dyn = pqxx::prepare::make_dynamic_params(values);
        auto it = m_prepared.find(sql);
        if (it == m_prepared.end()) {
            if (m_prepared.size() >= k_max_prepared) {
                return m_tx->exec_params(std::string(sql), dyn);
            }
            const std::string name = "pb" + std::to_string(++m_next_statement);
            m_conn->prepare(name, std::string(sql));
            it = m_prepared.emplace(std::string(sql), name).first;
        }
        return m_tx->exec_prepared(it->second, dyn);
    }

    // Whether a statement may have changed something, from its first word:
    // reads and row-less INSERT/UPDATE/DELETE send no NOTIFY at commit.
    void note_write(std::string_view sql, const pqxx::result& r) {
        const auto start = sql.find_first_not_of(" \t\r\n(");
        const auto word = sql.substr(start == std::string_view::npos ? sql.size() : start, 6);
        auto is = [&](std::string_view w) {
            if (word.size() < w.size()) {
                return false;
            }
            for (std::size_t i = 0; i < w.size(); ++i) {
                if (std::toupper(static_cast<unsigned char>(word[i])) != w[i]) {
                    return false;
                }
            }
            return true;
        };
        if (is("SELECT") || is("SHOW")) {
            return;
        }
        const bool dml = is("INSERT") || is("UPDATE") || is("DELETE");
        if (!dml || r.affected_rows() > 0) {
            m_wrote = true;
        }
    }

    std::string m_conninfo;
    LatencyHistogram& m_statements_timed;
    std::unique_ptr<pqxx::connection> m_conn;
    pqxx::transaction_base* m_tx = nullptr;
    bool m_wrote = false;
    std::unordered_map<std::string, std::string, StringHash, std::equal_to<>> m_prepared;
    std::uint64_t m_next_statement = 0;
};

class PgStore::Lease {
  public:
    explicit Lease(PgStore& s) : m_store(s), m_session(s.acquire()) {}
    ~Lease() { m_store.release(m_session); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    PgSession& operator*() { return m_session; }

  private:
    PgStore& m_store;
    PgSession& m_session;
};

PgStore::PgStore(PgTarget target, const StoreOptions& options)
    : m_target(std::move(target)), m_wait_ms(std::max<std::int64_t>(options.busy_timeout_ms, 1)) {
    const int n = std::max(1, options.pool_size);
    m_stats.pool_size = static_cast<std::size_t>(n);
    for (int i = 0; i < n; ++i) {
        m_all.push_back(std::make_unique<PgSession>(m_target.conninfo, m_stats.statements));
        m_free.push_back(m_all.back().get());
    }
    // The first session proves the server is there and names the schema, whose
    // writers this store listens to.
    std::string schema;
    {
        Lease lease(*this);
        try {
            (*lease).ensure_open();
            pqxx::nontransaction tx((*lease).conn());
            const auto r = tx.exec("SELECT current_schema()");
            schema = r.empty() || r[0][0].is_null() ? "public" : r[0][0].c_str();
        } catch (const pqxx::failure& e) {
            (*lease).drop();
            throw Error(ErrorCode::unavailable,
                        "cannot connect to PostgreSQL at " + m_target.location + ": " + e.what());
        }
    }
    m_channel = "pb_changes:" + schema;
    m_instance = std::to_string(std::random_device{}()) + "." + std::to_string(::getpid());
    if (::pipe2(m_wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        throw Error(ErrorCode::internal, "pipe2 failed");
    }
    m_listener = std::thread([this] { listen_loop(); });
}

PgStore::~PgStore() {
    m_stop = true;
    [[maybe_unused]] const auto n = ::write(m_wake[1], "x", 1);
    if (m_listener.joinable()) {
        m_listener.join();
    }
    ::close(m_wake[0]);
    ::close(m_wake[1]);
}

PgSession& PgStore::acquire() {
    std::unique_lock lock(m_mutex);
    if (m_free.empty()) {
        const auto start = std::chrono::steady_clock::now();
        const bool got = m_available.wait_for(lock, std::chrono::milliseconds(m_wait_ms),
                                              [this] { return !m_free.empty(); });
        m_stats.pool_waits.fetch_add(1, std::memory_order_relaxed);
        m_stats.pool_wait_ns.fetch_add(
            static_cast<std::uint64_t>((std::chrono::steady_clock::now() - start).count()),
            std::memory_order_relaxed);
        if (!got) {
            throw Error(ErrorCode::unavailable,
                        "all " + std::to_string(m_all.size()) + " database connections are busy");
        }
    }
    auto* s = m_free.back();
    m_free.pop_back();
    m_stats.pool_in_use.fetch_add(1, std::memory_order_relaxed);
    return *s;
}

void PgStore::release(PgSession& s) {
    m_stats.pool_in_use.fetch_sub(1, std::memory_order_relaxed);
    s.end();
    {
        std::lock_guard lock(m_mutex);
        m_free.push_back(&s);
    }
    m_available.notify_one();
}

bool PgStore::run_once(PgSession& s, const std::function<void(Connection&)>& fn, TxMode mode) {
    s.ensure_open();
    if (mode == TxMode::read) {
        // Reads run as single statements: READ COMMITTED gives each statement
        // its own snapshot inside a transaction too, and this saves two round trips.
        pqxx::nontransaction tx(s.conn());
        s.begin(tx);
        fn(s);
        s.end();
        return false;
    }
    // The transaction block is ours (BEGIN … COMMIT on a nontransaction), so
    // the NOTIFY rides with the COMMIT in one round trip.
    pqxx::nontransaction tx(s.conn());
    tx.exec(mode == TxMode::serializable ? "BEGIN ISOLATION LEVEL SERIALIZABLE" : "BEGIN");
    s.begin(tx);
    try {
        fn(s);
    } catch (...) {
        s.end();
        try {
            tx.exec("ROLLBACK");
        } catch (...) {
            // The caller needs the original failure; a broken session is dropped later.
        }
        throw;
    }
    s.end();
    const bool wrote = s.wrote();
    try {
        // Delivered at commit, with the commit, to every listener.
        tx.exec(wrote ? "SELECT pg_notify(" + tx.quote(m_channel) + ", " + tx.quote(m_instance) +
                            "); COMMIT"
                      : std::string("COMMIT"));
    } catch (const pqxx::broken_connection& e) {
        throw pqxx::in_doubt_error(e.what());
    }
    return wrote;
}

void PgStore::run_transaction(const std::function<void(Connection&)>& fn, TxMode mode) {
    thread_local std::minstd_rand jitter(std::random_device{}());
    const ScopedTimer timer(m_stats.transactions);
    for (int attempt = 1;; ++attempt) {
        Lease lease(*this);
        auto& s = *lease;
        // Only a connection that was open before is worth a second try: a
        // failed connect would fail again (and might wait connect_timeout).
        const bool was_open = s.connected();
        try {
            if (run_once(s, fn, mode)) {
                m_token.fetch_add(1, std::memory_order_acq_rel);  // our own commit, seen at once
            }
            return;
        } catch (const pqxx::in_doubt_error& e) {
            s.drop();
            throw Error(ErrorCode::unavailable,
                        std::string("lost the database during commit; the outcome is unknown: ") +
                            e.what());
        } catch (const pqxx::broken_connection& e) {
            s.drop();
            m_stats.reconnects.fetch_add(1, std::memory_order_relaxed);
            if (attempt >= 2 || !was_open) {
                throw Error(ErrorCode::unavailable,
                            "PostgreSQL at " + m_target.location + " is unreachable: " + e.what());
            }
        } catch (const pqxx::statement_completion_unknown& e) {
            s.drop();
            throw Error(ErrorCode::unavailable,
                        std::string("lost the database during a statement: ") + e.what());
        } catch (const pqxx::transaction_rollback& e) {
            // Serialization failure or deadlock: nothing was written; run it again.
            m_stats.retries.fetch_add(1, std::memory_order_relaxed);
            if (attempt >= k_attempts) {
                throw Error(ErrorCode::unavailable, "database too busy: gave up after " +
                                                        std::to_string(k_attempts) + " attempts (" +
                                                        e.what() + ")");
            }
            std::this_thread::sleep_for(std::chrono::microseconds((jitter() % 1000 + 200) *
                                                                  static_cast<unsigned>(attempt)));
        } catch (const pqxx::sql_error& e) {
            if (server_gone(e.sqlstate())) {
                s.drop();
                m_stats.reconnects.fetch_add(1, std::memory_order_relaxed);
                if (attempt >= 2) {
                    throw Error(ErrorCode::unavailable,
                                "PostgreSQL is unavailable: " + std::string(e.what()));
                }
                continue;
            }
            if (e.sqlstate() == "40001" || e.sqlstate() == "40P01") {
                m_stats.retries.fetch_add(1, std::memory_order_relaxed);
                if (attempt >= k_attempts) {
                    throw Error(ErrorCode::unavailable,
                                "database too busy: " + std::string(e.what()));
                }
                continue;
            }
            throw Error(ErrorCode::internal, std::string("database error: ") + e.what());
        } catch (const pqxx::failure& e) {
            if (!s.connected()) {
                s.drop();
                throw Error(ErrorCode::unavailable, std::string("database failure: ") + e.what());
            }
            throw Error(ErrorCode::internal, std::string("database failure: ") + e.what());
        }
        // Error and every other exception from fn pass through untouched; the
        // libpqxx transaction rolled back as it unwound.
    }
}

namespace {

// Counts the commits of other stores; this store's own were counted as they committed.
class Counter final : public pqxx::notification_receiver {
  public:
    Counter(pqxx::connection_base& c, const std::string& channel, std::string self,
            std::atomic<std::uint64_t>& n)
        : pqxx::notification_receiver(c, channel), m_self(std::move(self)), m_n(n) {}
    void operator()(const std::string& payload, int) override {
        if (payload != m_self) {
            m_n.fetch_add(1, std::memory_order_acq_rel);
        }
    }

  private:
    std::string m_self;
    std::atomic<std::uint64_t>& m_n;
};

}  // namespace

void PgStore::listen_loop() {
    auto log = log::get("store");
    bool warned = false;
    while (!m_stop) {
        try {
            pqxx::connection conn(m_target.conninfo);
            Counter counter(conn, m_channel, m_instance, m_token);
            conn.get_notifs();  // issues the LISTEN
            // Anything may have changed while nobody listened.
            m_token.fetch_add(1, std::memory_order_acq_rel);
            m_listening = true;
            if (warned) {
                log->info("listening to PostgreSQL changes again");
                warned = false;
            }
            while (!m_stop) {
                pollfd p[2] = {{conn.sock(), POLLIN, 0}, {m_wake[0], POLLIN, 0}};
                const int rc = ::poll(p, 2, 1000);
                if (rc > 0 && p[0].revents != 0) {
                    conn.get_notifs();
                    if (!conn.is_open()) {
                        break;
                    }
                } else if (rc < 0 && errno != EINTR) {
                    break;
                }
            }
        } catch (const std::exception& e) {
            if (!warned) {
                log->warn("not listening to PostgreSQL changes: {}", e.what());
                warned = true;
            }
        }
        m_listening = false;
        if (!m_stop) {
            pollfd p{m_wake[0], POLLIN, 0};
            ::poll(&p, 1, 500);  // retry twice a second, or stop at once
        }
    }
}

std::uint64_t PgStore::change_token() {
    if (m_listening.load(std::memory_order_acquire)) {
        return m_token.load(std::memory_order_acquire);
    }
    // Deaf to other writers: assume a change on every call, so caches re-read.
    return m_token.fetch_add(1, std::memory_order_acq_rel) + 1;
}

nlohmann::json PgStore::info() {
    std::lock_guard lock(m_mutex);
    std::size_t connected = 0;
    int server = 0;
    for (auto* s : m_free) {  // idle sessions only: the others belong to their callers
        if (s->connected()) {
            ++connected;
            server = s->conn().server_version();
        }
    }
    nlohmann::json out{
        {"pool_size", m_all.size()},         {"pool_in_use", m_all.size() - m_free.size()},
        {"pool_idle_connected", connected},  {"listening", m_listening.load()},
        {"retries", m_stats.retries.load()}, {"reconnects", m_stats.reconnects.load()}};
    if (server > 0) {
        out["server_version"] = std::to_string(server / 10000) + "." + std::to_string(server % 100);
    }
    return out;
}

namespace {

std::unique_ptr<Store> open_pg_store(const std::string& url, const StoreOptions& options) {
    return std::make_unique<PgStore>(pg_target(url, options.password, options.connect_timeout_s),
                                     options);
}

// Runs when the module is loaded (or at start in a program that links this file).
[[maybe_unused]] const bool k_registered = (register_postgresql(&open_pg_store), true);

}  // namespace
}  // namespace pb::store
