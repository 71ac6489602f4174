#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/temp_dir.hpp"

namespace pb::test {

// The stores every store-level and domain test runs on.
enum class Backend { sqlite, postgres };

// "Sqlite" / "Postgres": the suffix of parameterised test names.
std::string backend_name(const ::testing::TestParamInfo<Backend>& info);

#define PB_INSTANTIATE_BACKENDS(suite)                                                          \
    INSTANTIATE_TEST_SUITE_P(                                                                   \
        , suite, ::testing::Values(::pb::test::Backend::sqlite, ::pb::test::Backend::postgres), \
        ::pb::test::backend_name)

// The URL of the PostgreSQL server ctest started for this run (the "postgres"
// fixture, tests/support/pg_server.sh): $PB_TEST_PG_URL, else the file the
// setup wrote in the build tree. Throws, with how to start one, when there is none.
std::string pg_server_url();

// One test's own database: a SQLite file in a temp dir, or a fresh schema on
// the test PostgreSQL server (dropped at the end), so tests run in parallel.
class TestDb {
  public:
    explicit TestDb(Backend backend);
    ~TestDb();
    TestDb(const TestDb&) = delete;
    TestDb& operator=(const TestDb&) = delete;

    Backend backend() const { return m_backend; }
    // What open_store() and db.url take.
    const std::string& url() const { return m_url; }
    // PostgreSQL: the schema, also the application_name of every connection.
    const std::string& schema() const { return m_schema; }
    // A scratch folder (the SQLite file lives here).
    const TempDir& dir() const { return m_dir; }

  private:
    Backend m_backend;
    TempDir m_dir;
    std::string m_schema;
    std::string m_url;
};

// True once `check` holds after another Store's commit: at once on SQLite
// (shared memory), or within two seconds on PostgreSQL (NOTIFY), where it is
// checked every 5 ms.
template <class F>
bool seen_across_stores(Backend backend, F&& check) {
    const int tries = backend == Backend::sqlite ? 1 : 400;
    for (int i = 0; i < tries; ++i) {
        if (check()) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
}

}  // namespace pb::test
