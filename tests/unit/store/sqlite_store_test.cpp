#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "common/core/error.hpp"
#include "common/store/store.hpp"
#include "tests/support/errors.hpp"
#include "tests/support/temp_dir.hpp"

namespace pb::store {
namespace {

using test::TempDir;

class SqliteStoreTest : public ::testing::Test {
  protected:
    void SetUp() override {
        // One connection, so a transaction left open by a bug shows up in the next one.
        store =
            open_store(dir.file("pb.db"), StoreOptions{.busy_timeout_ms = 1000, .pool_size = 1});
        store->transaction([](Connection& c) {
            c.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, v)");
        });
    }

    std::int64_t count() {
        return store->transaction(
            [](Connection& c) { return c.query("SELECT COUNT(*) FROM t").front().get_int(0); },
            TxMode::read);
    }

    template <class F>
    static ErrorCode error_code_of(F&& fn) {
        return pb::test::error_code_of(std::forward<F>(fn));
    }

    TempDir dir;
    std::unique_ptr<Store> store;
};

// $N placeholders bind by number, whatever order they appear in.
TEST_F(SqliteStoreTest, PlaceholdersBindByNumberInAnyOrder) {
    const auto rows = store->transaction([](Connection& c) {
        return c.query("SELECT $2, $1, $3", {std::string("one"), std::string("two"), 3});
    });
    ASSERT_EQ(rows.size(), 1U);
    EXPECT_EQ(rows[0].get_text(0), "two");
    EXPECT_EQ(rows[0].get_text(1), "one");
    EXPECT_EQ(rows[0].get_int(2), 3);
}

// One placeholder may appear several times and binds the same value each time.
TEST_F(SqliteStoreTest, PlaceholdersCanBeReused) {
    const auto rows = store->transaction([](Connection& c) {
        c.exec("INSERT INTO t (id, name, v) VALUES ($1, $2, $1 * 10)",
               {std::int64_t{7}, std::string("seven")});
        return c.query("SELECT id, v, $1 || $1 FROM t WHERE id = $2 AND name = $1",
                       {std::string("seven"), std::int64_t{7}});
    });
    ASSERT_EQ(rows.size(), 1U);
    EXPECT_EQ(rows[0].get_int(0), 7);
    EXPECT_EQ(rows[0].get_int(1), 70);
    EXPECT_EQ(rows[0].get_text(2), "sevenseven");
}

// Cached statements rebind fresh values on each call.
TEST_F(SqliteStoreTest, CachedStatementsRebindEachCall) {
    store->transaction([](Connection& c) {
        for (std::int64_t i = 1; i <= 3; ++i) {
            c.exec("INSERT INTO t (id, name, v) VALUES ($1, $2, $3)",
                   {i, "n" + std::to_string(i), nullptr});
        }
    });
    EXPECT_EQ(count(), 3);
    const auto name = store->transaction([](Connection& c) {
        return c.query("SELECT name FROM t WHERE id = $1", {std::int64_t{2}}).front().get_text(0);
    });
    EXPECT_EQ(name, "n2");
}

// A placeholder beyond the params given is an error, not a silent NULL.
TEST_F(SqliteStoreTest, MissingParameterIsAnError) {
    EXPECT_EQ(error_code_of([&] {
                  store->transaction([](Connection& c) {
                      c.query("SELECT $1, $3", {std::int64_t{1}, 2.0});
                  });
              }),
              ErrorCode::internal);
}

// Placeholders other than $N are refused, so SQL stays portable to PostgreSQL.
TEST_F(SqliteStoreTest, OtherPlaceholderStylesAreRefused) {
    for (const char* sql : {"SELECT ?", "SELECT :name", "SELECT ?1", "SELECT @x"}) {
        SCOPED_TRACE(sql);
        EXPECT_EQ(error_code_of([&] {
                      store->transaction([&](Connection& c) { c.query(sql, {std::int64_t{1}}); });
                  }),
                  ErrorCode::internal);
    }
}

// NULL, integers (extremes included), doubles and text (with NUL and UTF-8) round-trip.
TEST_F(SqliteStoreTest, ValuesRoundTrip) {
    const std::string text("a\0b \xc3\xa9\xe2\x82\xac \"'; --", 16);
    const std::int64_t big = std::numeric_limits<std::int64_t>::max();
    const std::int64_t small = std::numeric_limits<std::int64_t>::min();
    const auto rows = store->transaction([&](Connection& c) {
        c.exec("CREATE TABLE vals (a, b, c, d, e, f)");
        c.exec("INSERT INTO vals VALUES ($1, $2, $3, $4, $5, $6)",
               {nullptr, big, small, 0.1, text, std::string()});
        return c.query("SELECT a, b, c, d, e, f FROM vals");
    });
    ASSERT_EQ(rows.size(), 1U);
    const auto& r = rows[0];
    ASSERT_EQ(r.size(), 6U);
    EXPECT_TRUE(r.is_null(0));
    EXPECT_FALSE(r.get_opt_int(0).has_value());
    EXPECT_FALSE(r.get_opt_text(0).has_value());
    EXPECT_EQ(r.get_int(1), big);
    EXPECT_EQ(r.get_int(2), small);
    EXPECT_EQ(r.get_double(3), 0.1);
    EXPECT_EQ(r.get_text(4), text);
    EXPECT_EQ(r.get_text(4).size(), 16U);
    EXPECT_FALSE(r.is_null(5));
    EXPECT_EQ(r.get_text(5), "");
    EXPECT_EQ(r.get_opt_text(5), std::optional<std::string>(""));
}

// nullable() maps an empty optional to NULL and a value to itself.
TEST_F(SqliteStoreTest, NullableMapsOptionals) {
    const auto rows = store->transaction([](Connection& c) {
        return c.query("SELECT $1, $2", {nullable(std::optional<std::int64_t>()),
                                         nullable(std::optional<std::int64_t>(5))});
    });
    EXPECT_TRUE(rows[0].is_null(0));
    EXPECT_EQ(rows[0].get_opt_int(1), 5);
}

// Reading NULL as a required integer is an error rather than a made-up value.
TEST_F(SqliteStoreTest, NullIsNotAnInteger) {
    const auto rows = store->transaction([](Connection& c) { return c.query("SELECT NULL, 1"); });
    EXPECT_EQ(error_code_of([&] { (void)rows[0].get_int(0); }), ErrorCode::internal);
    EXPECT_EQ(error_code_of([&] { (void)rows[0].get_text(1); }), ErrorCode::internal);
}

// exec returns the number of rows it changed.
TEST_F(SqliteStoreTest, ExecReturnsChangedRows) {
    const auto changed = store->transaction([](Connection& c) {
        c.exec("INSERT INTO t (name) VALUES ('a'), ('b'), ('c')");
        return c.exec("UPDATE t SET v = 1 WHERE name <> $1", {std::string("a")});
    });
    EXPECT_EQ(changed, 2);
}

// A transaction that returns commits, and its value comes back.
TEST_F(SqliteStoreTest, TransactionCommitsAndReturnsItsValue) {
    const auto id = store->transaction([](Connection& c) {
        return c.query("INSERT INTO t (name) VALUES ($1) RETURNING id", {std::string("x")})
            .front()
            .get_int(0);
    });
    EXPECT_GT(id, 0);
    EXPECT_EQ(count(), 1);
}

// A transaction that throws rolls back everything it wrote and rethrows.
TEST_F(SqliteStoreTest, TransactionRollsBackOnException) {
    EXPECT_THROW(store->transaction([](Connection& c) {
        c.exec("INSERT INTO t (name) VALUES ('a')");
        c.exec("INSERT INTO t (name) VALUES ('b')");
        throw std::runtime_error("boom");
    }),
                 std::runtime_error);
    EXPECT_EQ(count(), 0);
    // The connection is usable again: no transaction was left open.
    store->transaction([](Connection& c) { c.exec("INSERT INTO t (name) VALUES ('c')"); });
    EXPECT_EQ(count(), 1);
}

// A constraint violation is Error(conflict), and the whole transaction is undone.
TEST_F(SqliteStoreTest, ConstraintViolationIsConflict) {
    store->transaction([](Connection& c) { c.exec("INSERT INTO t (name) VALUES ('dup')"); });
    EXPECT_EQ(error_code_of([&] {
                  store->transaction([](Connection& c) {
                      c.exec("INSERT INTO t (name) VALUES ('other')");
                      c.exec("INSERT INTO t (name) VALUES ('dup')");
                  });
              }),
              ErrorCode::conflict);
    EXPECT_EQ(count(), 1);
    EXPECT_EQ(error_code_of([&] {
                  store->transaction(
                      [](Connection& c) { c.exec("INSERT INTO t (name) VALUES ($1)", {nullptr}); });
              }),
              ErrorCode::conflict);
    EXPECT_EQ(count(), 1);
    // The same cached statement works again after the failure.
    store->transaction([](Connection& c) { c.exec("INSERT INTO t (name) VALUES ($1)", {"ok"}); });
    EXPECT_EQ(count(), 2);
}

// SQL that does not compile is an error, and the store stays usable.
TEST_F(SqliteStoreTest, BadSqlIsAnErrorAndTheStoreRecovers) {
    EXPECT_EQ(
        error_code_of([&] { store->transaction([](Connection& c) { c.exec("SELEC nonsense"); }); }),
        ErrorCode::internal);
    EXPECT_EQ(count(), 0);
}

// Several statements in one exec are refused rather than silently running only the first.
TEST_F(SqliteStoreTest, MultipleStatementsInOneCallAreRefused) {
    EXPECT_EQ(
        error_code_of([&] {
            store->transaction([](Connection& c) {
                c.exec("INSERT INTO t (name) VALUES ('a'); INSERT INTO t (name) VALUES ('b')");
            });
        }),
        ErrorCode::internal);
    EXPECT_EQ(count(), 0);
}

// A database locked by another writer is unavailable (after the busy timeout), then usable again.
TEST_F(SqliteStoreTest, LockedDatabaseIsUnavailable) {
    auto other = open_store(dir.file("pb.db"), StoreOptions{.busy_timeout_ms = 0, .pool_size = 1});
    store->transaction([&](Connection& c) {
        c.exec("INSERT INTO t (name) VALUES ('holding the write lock')");
        EXPECT_EQ(error_code_of([&] {
                      other->transaction(
                          [](Connection& o) { o.exec("INSERT INTO t (name) VALUES ('blocked')"); });
                  }),
                  ErrorCode::unavailable);
    });
    other->transaction([](Connection& o) { o.exec("INSERT INTO t (name) VALUES ('later')"); });
    EXPECT_EQ(count(), 2);
}

// A second Store on the same file sees committed data.
TEST_F(SqliteStoreTest, SecondStoreSeesCommits) {
    store->transaction([](Connection& c) { c.exec("INSERT INTO t (name) VALUES ('shared')"); });
    auto other = open_store(dir.file("pb.db"), StoreOptions{});
    const auto name = other->transaction(
        [](Connection& c) { return c.query("SELECT name FROM t").front().get_text(0); },
        TxMode::read);
    EXPECT_EQ(name, "shared");
}

// Describes itself: backend, location, dialect and pool facts.
TEST_F(SqliteStoreTest, DescribesItself) {
    EXPECT_EQ(store->backend(), "sqlite");
    EXPECT_EQ(store->dialect(), Dialect::sqlite);
    EXPECT_EQ(store->location(), dir.file("pb.db"));
    const auto info = store->info();
    EXPECT_EQ(info.at("pool_size"), 1);
    EXPECT_EQ(info.at("pool_in_use"), 0);
    EXPECT_EQ(info.at("journal_mode"), "wal");
}

// The WAL journal is on, as DESIGN.md requires.
TEST_F(SqliteStoreTest, UsesWalMode) {
    const auto mode = store->transaction(
        [](Connection& c) { return c.query("PRAGMA journal_mode").front().get_text(0); });
    EXPECT_EQ(mode, "wal");
}

// sqlite:// and sqlite: URLs and plain paths all open the file, creating its folder.
TEST(OpenStore, AcceptsSqliteUrlsAndPathsAndCreatesFolders) {
    TempDir dir;
    const auto nested = dir.file("a/b/pb.db");
    for (const auto& url : {"sqlite://" + nested, "sqlite:" + nested, nested}) {
        SCOPED_TRACE(url);
        auto s = open_store(url, StoreOptions{.pool_size = 1});
        EXPECT_EQ(s->location(), nested);
    }
    EXPECT_TRUE(std::filesystem::exists(nested));
}

// Unknown schemes and empty paths are invalid_argument; an unusable path is unavailable.
TEST(OpenStore, RejectsBadUrls) {
    TempDir dir;
    auto code_of = [](const std::string& url) {
        try {
            open_store(url, StoreOptions{.pool_size = 1});
        } catch (const Error& e) {
            return e.code();
        }
        ADD_FAILURE() << "opened " << url;
        return ErrorCode::internal;
    };
    EXPECT_EQ(code_of("sqlite://"), ErrorCode::invalid_argument);
    EXPECT_EQ(code_of(""), ErrorCode::invalid_argument);
    std::ofstream(dir.file("plain-file")) << "x";
    EXPECT_EQ(code_of(dir.file("plain-file/pb.db")), ErrorCode::unavailable);
}

// An unreachable PostgreSQL server is unavailable (never a crash or a hang), and
// neither the message nor location() shows the password.
TEST(OpenStore, UnreachablePostgresIsUnavailableWithoutCredentials) {
    try {
        // Port 1 on loopback: refused at once.
        open_store("postgresql://admin:hunter2@127.0.0.1:1/pb", StoreOptions{.pool_size = 1});
        FAIL() << "connected to port 1";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::unavailable);
        EXPECT_NE(std::string(e.what()).find("postgresql://admin@127.0.0.1:1/pb"),
                  std::string::npos)
            << e.what();
        EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos) << e.what();
    }
}

// The unsupported-scheme message names the scheme but never the URL's password.
TEST(OpenStore, UnsupportedSchemeMessageHasNoCredentials) {
    try {
        open_store("mysql://admin:hunter2@db.example/pb", StoreOptions{.pool_size = 1});
        FAIL() << "opened a mysql URL";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("mysql"), std::string::npos) << e.what();
        EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace pb::store
