#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/store/store.hpp"
#include "common/store/store_stats.hpp"

namespace pb::store {

class SqliteConnection;

// SQLite in WAL mode with a busy timeout and foreign keys on; one connection per
// concurrent caller, handed out from a fixed pool.
class SqliteStore final : public Store {
  public:
    SqliteStore(std::string path, const StoreOptions& options);
    ~SqliteStore() override;

    std::uint64_t change_token() override;
    Dialect dialect() const override { return Dialect::sqlite; }
    std::string backend() const override { return "sqlite"; }
    std::string location() const override { return m_path; }
    nlohmann::json info() override;

  protected:
    void run_transaction(const std::function<void(Connection&)>& fn, TxMode mode) override;

  private:
    class Lease;
    SqliteConnection& acquire();
    void release(SqliteConnection& c);

    class WalIndexView;

    std::string m_path;
    std::unique_ptr<WalIndexView> m_wal_index;  // null when the -shm file cannot be mapped
    std::atomic<std::uint64_t> m_fallback_token{0};
    std::vector<std::unique_ptr<SqliteConnection>> m_all;
    std::vector<SqliteConnection*> m_free;
    std::mutex m_mutex;
    std::condition_variable m_available;
    StoreStats m_stats;
    StatsRegistration m_registration{*this, m_stats};  // after m_stats: stats_of() finds them
};

}  // namespace pb::store
