// A transaction opened on a thread already inside one of the same store joins
// it (store.hpp): what makes an op's change and its audit row one transaction.
#include <gtest/gtest.h>

#include "common/core/error.hpp"
#include "common/store/store.hpp"
#include "tests/support/test_db.hpp"

namespace pb::store {
namespace {

using test::Backend;

class NestedTransactionTest : public ::testing::TestWithParam<Backend> {
  protected:
    NestedTransactionTest() {
        store->transaction([](Connection& c) { c.exec("CREATE TABLE t (v BIGINT NOT NULL)"); });
    }
    std::int64_t rows() {
        return store->transaction(
            [](Connection& c) { return c.query("SELECT COUNT(*) FROM t").front().get_int(0); },
            TxMode::read);
    }

    test::TestDb db{GetParam()};
    // One connection: a nested transaction that took a second would wait forever.
    std::unique_ptr<Store> store = open_store(db.url(), StoreOptions{.pool_size = 1});
};

// The inner transaction's writes commit with the outer one, or roll back with it.
TEST_P(NestedTransactionTest, InnerCommitsAndRollsBackWithTheOuter) {
    store->transaction([&](Connection& c) {
        c.exec("INSERT INTO t (v) VALUES (1)");
        store->transaction([](Connection& inner) { inner.exec("INSERT INTO t (v) VALUES (2)"); });
    });
    EXPECT_EQ(rows(), 2);
    EXPECT_THROW(store->transaction([&](Connection&) {
        store->transaction([](Connection& inner) { inner.exec("INSERT INTO t (v) VALUES (3)"); });
        throw Error(ErrorCode::conflict, "the outer fails after the inner succeeded");
    }),
                 Error);
    EXPECT_EQ(rows(), 2);
}

// An inner transaction that throws is undone alone (a savepoint); the outer
// goes on, on PostgreSQL too (no "current transaction is aborted").
TEST_P(NestedTransactionTest, FailedInnerIsUndoneAlone) {
    store->transaction([&](Connection& c) {
        c.exec("INSERT INTO t (v) VALUES (1)");
        EXPECT_THROW(store->transaction([](Connection& inner) {
            inner.exec("INSERT INTO t (v) VALUES (2)");
            inner.exec("INSERT INTO t (v) VALUES (NULL)");  // NOT NULL: fails
        }),
                     Error);
        c.exec("INSERT INTO t (v) VALUES (4)");
    });
    EXPECT_EQ(rows(), 2);  // 1 and 4
}

// after_commit work of the inner transaction waits for the outer commit, and
// never runs when the outer rolls back.
TEST_P(NestedTransactionTest, AfterCommitWaitsForTheOuter) {
    int ran = 0;
    store->transaction([&](Connection&) {
        store->transaction([&](Connection& inner) { inner.after_commit([&] { ++ran; }); });
        EXPECT_EQ(ran, 0);
    });
    EXPECT_EQ(ran, 1);
    EXPECT_THROW(store->transaction([&](Connection&) {
        store->transaction([&](Connection& inner) { inner.after_commit([&] { ++ran; }); });
        throw Error(ErrorCode::conflict, "rolled back");
    }),
                 Error);
    EXPECT_EQ(ran, 1);
}

// A serializable transaction nested in a write one: on PostgreSQL the whole
// outer transaction runs again as serializable; its writes land once.
TEST_P(NestedTransactionTest, SerializableInsideWriteRunsOnce) {
    int outer_runs = 0;
    store->transaction([&](Connection& c) {
        ++outer_runs;
        c.exec("INSERT INTO t (v) VALUES (1)");
        store->transaction([](Connection& inner) { inner.exec("INSERT INTO t (v) VALUES (2)"); },
                           TxMode::serializable);
    });
    EXPECT_EQ(rows(), 2);
    EXPECT_EQ(outer_runs, GetParam() == Backend::postgres ? 2 : 1);
}

PB_INSTANTIATE_BACKENDS(NestedTransactionTest);

}  // namespace
}  // namespace pb::store
