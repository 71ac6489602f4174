#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "common/store/store.hpp"
#include "tests/support/test_db.hpp"

namespace pb::store {
namespace {

using test::Backend;

class ChangeDetectionTest : public ::testing::TestWithParam<Backend> {
  protected:
    void SetUp() override {
        a = open_store(db.url(), StoreOptions{.pool_size = 2});
        a->transaction([](Connection& c) { c.exec("CREATE TABLE t (v INTEGER)"); });
        b = open_store(db.url(), StoreOptions{.pool_size = 2});
        settle();
        (void)a->changed_elsewhere();  // the first call only records the starting point
    }

    // Another store's commit reaches this one at commit on SQLite (shared
    // memory), a moment later on PostgreSQL (NOTIFY): wait, boundedly, for it.
    bool seen_by_a() {
        for (int i = 0; i < 400; ++i) {
            if (a->changed_elsewhere()) {
                return true;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        return false;
    }

    // Lets notifications still in flight arrive, so they are not taken for new ones.
    void settle() {
        if (GetParam() == Backend::postgres) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }

    static void write(Store& s) {
        s.transaction([](Connection& c) { c.exec("INSERT INTO t (v) VALUES (1)"); });
    }

    test::TestDb db{GetParam()};
    std::unique_ptr<Store> a;
    std::unique_ptr<Store> b;
};

// With no commit anywhere, nothing has changed.
TEST_P(ChangeDetectionTest, FalseWithoutWrites) {
    EXPECT_FALSE(a->changed_elsewhere());
    EXPECT_FALSE(a->changed_elsewhere());
}

// Reads, by this store or another, are not changes.
TEST_P(ChangeDetectionTest, FalseAfterReads) {
    b->transaction([](Connection& c) { c.query("SELECT COUNT(*) FROM t"); }, TxMode::read);
    a->transaction([](Connection& c) { c.query("SELECT COUNT(*) FROM t"); }, TxMode::read);
    EXPECT_FALSE(a->changed_elsewhere());
}

// A commit through a second Store on the same file is seen once.
TEST_P(ChangeDetectionTest, TrueOnceAfterAnotherStoreWrites) {
    write(*b);
    EXPECT_TRUE(seen_by_a());
    settle();
    EXPECT_FALSE(a->changed_elsewhere());
}

// Every commit is seen, not only the first.
TEST_P(ChangeDetectionTest, SeesEachOfSeveralCommits) {
    for (int i = 0; i < 5; ++i) {
        SCOPED_TRACE(i);
        write(*b);
        EXPECT_TRUE(seen_by_a());
        settle();
        EXPECT_FALSE(a->changed_elsewhere());
    }
}

// A rolled-back transaction is not a change.
TEST_P(ChangeDetectionTest, FalseAfterRollback) {
    EXPECT_THROW(b->transaction([](Connection& c) {
        c.exec("INSERT INTO t (v) VALUES (1)");
        throw std::runtime_error("abandon");
    }),
                 std::runtime_error);
    settle();
    EXPECT_FALSE(a->changed_elsewhere());
}

// The change token moves with every commit, including this store's own.
TEST_P(ChangeDetectionTest, TokenMovesOnEveryCommit) {
    const auto t0 = a->change_token();
    EXPECT_EQ(a->change_token(), t0);
    write(*a);
    const auto t1 = a->change_token();
    EXPECT_NE(t1, t0);
    (void)a->changed_elsewhere();  // a's own commit is not what is awaited next
    write(*b);
    EXPECT_TRUE(seen_by_a());
    EXPECT_NE(a->change_token(), t1);
    if (GetParam() == Backend::sqlite) {
        EXPECT_EQ(a->change_token(), b->change_token());  // one shared-memory counter
    }
}

using SqliteChangeDetectionTest = ChangeDetectionTest;

// Commits after an automatic checkpoint restarted the WAL are still seen.
TEST_P(SqliteChangeDetectionTest, SeesCommitsAfterTheWalRestarts) {
    // Over 1000 pages (4 KiB each) in one commit triggers SQLite's auto-checkpoint.
    b->transaction([](Connection& c) {
        c.exec("CREATE TABLE big (b BLOB)");
        c.exec("INSERT INTO big VALUES (zeroblob(6000000))");
    });
    EXPECT_TRUE(a->changed_elsewhere());
    for (int i = 0; i < 3; ++i) {
        SCOPED_TRACE(i);
        write(*b);  // the first of these restarts the WAL from its beginning
        EXPECT_TRUE(a->changed_elsewhere());
        EXPECT_FALSE(a->changed_elsewhere());
    }
}

PB_INSTANTIATE_BACKENDS(ChangeDetectionTest);
// The WAL is SQLite's own.
INSTANTIATE_TEST_SUITE_P(, SqliteChangeDetectionTest, ::testing::Values(Backend::sqlite),
                         test::backend_name);

}  // namespace
}  // namespace pb::store
