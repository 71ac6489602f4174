// The Store contract on every backend: placeholders, values, transactions,
// conflicts, and on PostgreSQL the pool's recovery and row-level atomicity.
#include <atomic>
#include <limits>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/core/error.hpp"
#include "common/store/pg_store.hpp"
#include "common/store/store.hpp"
#include "tests/support/errors.hpp"
#include "tests/support/test_db.hpp"

namespace pb::store {
namespace {

using test::Backend;
using test::error_code_of;

class StoreBackendTest : public ::testing::TestWithParam<Backend> {
  protected:
    void SetUp() override {
        store = open_store(db.url(), StoreOptions{.busy_timeout_ms = 5000, .pool_size = 4});
        store->transaction([](Connection& c) {
            c.exec("CREATE TABLE t (id TEXT PRIMARY KEY, n BIGINT, d DOUBLE PRECISION, s TEXT)");
        });
    }

    std::int64_t count() {
        return store->transaction(
            [](Connection& c) { return c.query("SELECT COUNT(*) FROM t").front().get_int(0); },
            TxMode::read);
    }

    test::TestDb db{GetParam()};
    std::unique_ptr<Store> store;
};

// $N binds by number, in any order and more than once; values keep their types.
TEST_P(StoreBackendTest, PlaceholdersAndValuesRoundTrip) {
    const std::int64_t big = std::numeric_limits<std::int64_t>::max();
    const std::string text = "\xc3\xa9\xe2\x82\xac \"'; --";
    const auto rows = store->transaction([&](Connection& c) {
        c.exec("INSERT INTO t (id, n, d, s) VALUES ($2, $1, $3, $4)",
               {big, std::string("a"), 0.1, text});
        c.exec("INSERT INTO t (id, n, d, s) VALUES ($1, $2, $3, $4)",
               {std::string("b"), nullptr, nullptr, std::string()});
        return c.query(
            "SELECT id, n, d, s FROM t WHERE id = $1 OR (id = 'b' AND $1 = $1) ORDER "
            "BY id",
            {std::string("a")});
    });
    ASSERT_EQ(rows.size(), 2U);
    EXPECT_EQ(rows[0].get_int(1), big);
    EXPECT_EQ(rows[0].get_double(2), 0.1);
    EXPECT_EQ(rows[0].get_text(3), text);
    EXPECT_TRUE(rows[1].is_null(1));
    EXPECT_TRUE(rows[1].is_null(2));
    EXPECT_EQ(rows[1].get_text(3), "");
}

// exec reports changed rows; a throw rolls everything back.
TEST_P(StoreBackendTest, ExecCountsAndRollbackUndoes) {
    EXPECT_EQ(store->transaction([](Connection& c) {
        c.exec("INSERT INTO t (id, n) VALUES ('a', 1), ('b', 2), ('c', 3)");
        return c.exec("UPDATE t SET n = n + 1 WHERE id <> $1", {std::string("a")});
    }),
              2);
    EXPECT_THROW(store->transaction([](Connection& c) {
        c.exec("DELETE FROM t");
        throw Error(ErrorCode::invalid_argument, "abandon");
    }),
                 Error);
    EXPECT_EQ(count(), 3);
}

// A unique violation is Error(conflict), and the store keeps working.
TEST_P(StoreBackendTest, ConstraintViolationIsConflict) {
    store->transaction([](Connection& c) { c.exec("INSERT INTO t (id) VALUES ('a')"); });
    EXPECT_EQ(error_code_of([&] {
                  store->transaction([](Connection& c) {
                      c.exec("INSERT INTO t (id) VALUES ('b')");
                      c.exec("INSERT INTO t (id) VALUES ('a')");
                  });
              }),
              ErrorCode::conflict);
    EXPECT_EQ(count(), 1);
    EXPECT_EQ(
        error_code_of([&] { store->transaction([](Connection& c) { c.exec("SELEC nonsense"); }); }),
        ErrorCode::internal);
    EXPECT_EQ(count(), 1);
}

// Threads spending one counter with UPDATE … WHERE n > 0 RETURNING never
// overspend, through two stores (two processes, in effect).
TEST_P(StoreBackendTest, ConditionalUpdateNeverOverspends) {
    store->transaction([](Connection& c) { c.exec("INSERT INTO t (id, n) VALUES ('k', 100)"); });
    auto other = open_store(db.url(), StoreOptions{.busy_timeout_ms = 5000, .pool_size = 4});
    std::atomic<int> spent{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i) {
        threads.emplace_back([&, i] {
            Store& s = i % 2 == 0 ? *store : *other;
            for (int j = 0; j < 60; ++j) {
                try {
                    const bool ok = s.transaction([](Connection& c) {
                        return !c.query(
                                     "UPDATE t SET n = n - 1 WHERE id = 'k' AND n > 0 RETURNING n")
                                    .empty();
                    });
                    spent += ok ? 1 : 0;
                } catch (const std::exception& e) {
                    ADD_FAILURE() << e.what();
                }
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    EXPECT_EQ(spent.load(), 100);
}

// A serializable check-then-insert from two stores at once makes one row.
TEST_P(StoreBackendTest, SerializableCheckThenWriteMakesOne) {
    auto other = open_store(db.url(), StoreOptions{.busy_timeout_ms = 5000, .pool_size = 2});
    for (int round = 0; round < 20; ++round) {
        const std::string id = "r" + std::to_string(round);
        auto make = [&](Store& s, const std::string& mine) {
            try {
                s.transaction(
                    [&](Connection& c) {
                        if (c.query("SELECT 1 FROM t WHERE s = $1", {id}).empty()) {
                            c.exec("INSERT INTO t (id, s) VALUES ($1, $2)", {mine, id});
                        }
                    },
                    TxMode::serializable);
            } catch (const std::exception& e) {
                ADD_FAILURE() << e.what();
            }
        };
        std::thread a([&] { make(*store, id + "a"); });
        std::thread b([&] { make(*other, id + "b"); });
        a.join();
        b.join();
        EXPECT_EQ(store->transaction([&](Connection& c) {
            return c.query("SELECT COUNT(*) FROM t WHERE s = $1", {id}).front().get_int(0);
        }),
                  1)
            << round;
    }
}

PB_INSTANTIATE_BACKENDS(StoreBackendTest);

using PgStoreTest = StoreBackendTest;

// Connections the server dropped (restart, idle kill) are replaced on use:
// the next transaction succeeds, and location() and errors carry no password.
TEST_P(PgStoreTest, ReconnectsAfterTheServerDropsConnections) {
    store->transaction([](Connection& c) { c.exec("INSERT INTO t (id) VALUES ('a')"); });
    auto admin = open_store(db.url(), StoreOptions{.pool_size = 1});
    admin->transaction([&](Connection& c) {
        // This test's connections only: other tests share the server. Waits
        // (up to 10 s) until they are gone, so the store meets dropped
        // connections, not ones still being dropped.
        c.query(
            "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity WHERE pid <> "
            "pg_backend_pid() AND application_name = $1",
            {db.schema()});
    });
    EXPECT_EQ(count(), 1);
    store->transaction([](Connection& c) { c.exec("INSERT INTO t (id) VALUES ('b')"); });
    EXPECT_EQ(count(), 2);
    EXPECT_TRUE(store->location().starts_with("postgresql://pb@127.0.0.1:")) << store->location();
    EXPECT_EQ(store->backend(), "postgresql");
    EXPECT_GE(store->info().at("pool_size").get<int>(), 4);
    EXPECT_GE(store->info().at("reconnects").get<int>(), 1);  // the kill was felt, and survived
}

// A password from db.password_file replaces the URL's; neither ever shows in
// location(), and a malformed URL's message does not echo it.
TEST(PgTarget, PasswordsStayOutOfLocationAndMessages) {
    const auto t =
        pg_target("postgresql://app:in-url@db.example:5433/pb?sslmode=disable", "from-file", 5);
    EXPECT_EQ(t.location, "postgresql://app@db.example:5433/pb");
    EXPECT_NE(t.conninfo.find("password='from-file'"), std::string::npos);
    EXPECT_EQ(t.conninfo.find("in-url"), std::string::npos);
    EXPECT_NE(t.conninfo.find("connect_timeout=5"), std::string::npos) << t.conninfo;
    const auto u = pg_target("postgres://app:s3cret@h/db", "", 5);
    EXPECT_EQ(u.location.find("s3cret"), std::string::npos);
    try {
        (void)pg_target("postgresql://app:s3cret@h:notaport/db?bogus=1", "", 5);
        FAIL() << "accepted a bad URL";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
        EXPECT_EQ(std::string(e.what()).find("s3cret"), std::string::npos) << e.what();
    }
}

INSTANTIATE_TEST_SUITE_P(, PgStoreTest, ::testing::Values(Backend::postgres), test::backend_name);

}  // namespace
}  // namespace pb::store
