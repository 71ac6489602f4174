#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/store/store.hpp"

namespace pb::store {

class SqliteConnection;

// SQLite in WAL mode with a busy timeout and foreign keys on; one connection per
// concurrent caller, handed out from a fixed pool.
class SqliteStore final : public Store {
  public:
    SqliteStore(std::string path, const StoreOptions& options);
    ~SqliteStore() override;

    bool changed_elsewhere() override;
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

    std::string m_path;
    std::vector<std::unique_ptr<SqliteConnection>> m_all;
    std::vector<SqliteConnection*> m_free;
    std::mutex m_mutex;
    std::condition_variable m_available;
};

}  // namespace pb::store
