#include <gtest/gtest.h>

#include "common/store/store.hpp"
#include "tests/support/temp_dir.hpp"

namespace pb::store {
namespace {

using test::TempDir;

class ChangeDetectionTest : public ::testing::Test {
  protected:
    void SetUp() override {
        a = open_store(dir.file("pb.db"), StoreOptions{.pool_size = 2});
        a->transaction([](Connection& c) { c.exec("CREATE TABLE t (v INTEGER)"); });
        b = open_store(dir.file("pb.db"), StoreOptions{.pool_size = 2});
        (void)a->changed_elsewhere();  // the first call only records the starting point
    }

    static void write(Store& s) {
        s.transaction([](Connection& c) { c.exec("INSERT INTO t (v) VALUES (1)"); });
    }

    TempDir dir;
    std::unique_ptr<Store> a;
    std::unique_ptr<Store> b;
};

// With no commit anywhere, nothing has changed.
TEST_F(ChangeDetectionTest, FalseWithoutWrites) {
    EXPECT_FALSE(a->changed_elsewhere());
    EXPECT_FALSE(a->changed_elsewhere());
}

// Reads, by this store or another, are not changes.
TEST_F(ChangeDetectionTest, FalseAfterReads) {
    b->transaction([](Connection& c) { c.query("SELECT COUNT(*) FROM t"); }, TxMode::read);
    a->transaction([](Connection& c) { c.query("SELECT COUNT(*) FROM t"); }, TxMode::read);
    EXPECT_FALSE(a->changed_elsewhere());
}

// A commit through a second Store on the same file is seen once.
TEST_F(ChangeDetectionTest, TrueOnceAfterAnotherStoreWrites) {
    write(*b);
    EXPECT_TRUE(a->changed_elsewhere());
    EXPECT_FALSE(a->changed_elsewhere());
}

// Every commit is seen, not only the first.
TEST_F(ChangeDetectionTest, SeesEachOfSeveralCommits) {
    for (int i = 0; i < 5; ++i) {
        SCOPED_TRACE(i);
        write(*b);
        EXPECT_TRUE(a->changed_elsewhere());
        EXPECT_FALSE(a->changed_elsewhere());
    }
}

// A rolled-back transaction is not a change.
TEST_F(ChangeDetectionTest, FalseAfterRollback) {
    EXPECT_THROW(b->transaction([](Connection& c) {
        c.exec("INSERT INTO t (v) VALUES (1)");
        throw std::runtime_error("abandon");
    }),
                 std::runtime_error);
    EXPECT_FALSE(a->changed_elsewhere());
}

// The change token moves with every commit, including this store's own.
TEST_F(ChangeDetectionTest, TokenMovesOnEveryCommit) {
    const auto t0 = a->change_token();
    EXPECT_EQ(a->change_token(), t0);
    write(*a);
    const auto t1 = a->change_token();
    EXPECT_NE(t1, t0);
    write(*b);
    EXPECT_NE(a->change_token(), t1);
    EXPECT_EQ(a->change_token(), b->change_token());
}

// Commits after an automatic checkpoint restarted the WAL are still seen.
TEST_F(ChangeDetectionTest, SeesCommitsAfterTheWalRestarts) {
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

}  // namespace
}  // namespace pb::store
