#include "tests/support/test_db.hpp"

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <pqxx/pqxx>
#include <random>
#include <stdexcept>
#include <unistd.h>

namespace pb::test {

std::string backend_name(const ::testing::TestParamInfo<Backend>& info) {
    return info.param == Backend::sqlite ? "Sqlite" : "Postgres";
}

std::string pg_server_url() {
    if (const char* env = std::getenv("PB_TEST_PG_URL"); env != nullptr && *env != '\0') {
        return env;
    }
    std::ifstream in(PB_TEST_PG_URL_FILE);
    std::string url;
    std::getline(in, url);
    if (url.empty()) {
        throw std::runtime_error(
            "no PostgreSQL test server: run the tests through ctest (its pg_server_start "
            "fixture writes " PB_TEST_PG_URL_FILE "), or set PB_TEST_PG_URL");
    }
    return url;
}

namespace {

std::string new_schema_name() {
    static std::atomic<int> counter{0};
    std::random_device rd;
    return "t_" + std::to_string(::getpid()) + "_" + std::to_string(++counter) + "_" +
           std::to_string(rd() % 1'000'000);
}

}  // namespace

TestDb::TestDb(Backend backend) : m_backend(backend) {
    if (backend == Backend::sqlite) {
        m_url = m_dir.file("pb.db");
        return;
    }
    const auto server = pg_server_url();
    m_schema = new_schema_name();
    try {
        pqxx::connection c(server);
        pqxx::nontransaction tx(c);
        tx.exec("CREATE SCHEMA " + tx.quote_name(m_schema));
    } catch (const std::exception& e) {
        throw std::runtime_error("cannot create a schema on the PostgreSQL test server " + server +
                                 ": " + e.what());
    }
    // libpq URI: options=-csearch_path=<schema>, percent-encoded.
    m_url = server + (server.find('?') == std::string::npos ? "?" : "&") +
            "options=-csearch_path%3D" + m_schema + "&application_name=" + m_schema;
}

TestDb::~TestDb() {
    if (m_schema.empty()) {
        return;
    }
    try {
        pqxx::connection c(pg_server_url());
        pqxx::nontransaction tx(c);
        tx.exec("DROP SCHEMA IF EXISTS " + tx.quote_name(m_schema) + " CASCADE");
    } catch (const std::exception&) {
        // The server goes away with the run; a leftover schema harms nothing.
    }
}

}  // namespace pb::test
