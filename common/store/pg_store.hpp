#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/store/store.hpp"
#include "common/store/store_stats.hpp"

namespace pb::store {

// How to reach a PostgreSQL server: a libpq keyword/value string that may hold
// a password (never shown), and the same place with credentials removed.
struct PgTarget {
    std::string conninfo;
    std::string location;  // postgresql://user@host:port/db, no password
};

// Parses a postgresql:// or postgres:// URL (any libpq URI). A password in
// `password` (e.g. read from db.password_file) replaces one in the URL.
// Error(invalid_argument) for a malformed URL; the message never echoes it.
PgTarget pg_target(const std::string& url, const std::string& password, int connect_timeout_s);

class PgSession;

// PostgreSQL through libpqxx: a pool of connections opened on demand and
// re-opened when the server dropped them; write transactions in READ COMMITTED
// (row-level atomic UPDATEs carry the checks), TxMode::serializable in
// SERIALIZABLE; serialization failures and deadlocks are retried a few times.
// change_token() costs no round trip: a listener thread counts NOTIFYs that
// every committing write transaction sends on a channel named after the schema.
class PgStore final : public Store {
  public:
    PgStore(PgTarget target, const StoreOptions& options);
    ~PgStore() override;

    std::uint64_t change_token() override;
    Dialect dialect() const override { return Dialect::postgresql; }
    std::string backend() const override { return "postgresql"; }
    std::string location() const override { return m_target.location; }
    nlohmann::json info() override;

  protected:
    void run_transaction(const std::function<void(Connection&)>& fn, TxMode mode) override;

  private:
    class Lease;
    PgSession& acquire();
    void release(PgSession& s);
    void listen_loop();
    bool run_once(PgSession& s, const std::function<void(Connection&)>& fn, TxMode mode);

    PgTarget m_target;
    std::int64_t m_wait_ms;
    std::string m_channel;     // pb_changes:<schema>
    std::string m_instance;    // NOTIFY payload: our own commits are counted at commit
    int m_wake[2] = {-1, -1};  // a pipe that interrupts the listener's wait at shutdown

    std::vector<std::unique_ptr<PgSession>> m_all;
    std::vector<PgSession*> m_free;
    std::mutex m_mutex;
    std::condition_variable m_available;
    StoreStats m_stats;
    StatsRegistration m_registration{*this, m_stats};  // after m_stats: stats_of() finds them

    std::atomic<std::uint64_t> m_token{1};
    std::atomic<bool> m_listening{false};
    std::atomic<bool> m_stop{false};
    std::thread m_listener;
};

}  // namespace pb::store
