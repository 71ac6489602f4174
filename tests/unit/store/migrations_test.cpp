#include "common/store/migrations.hpp"

#include <filesystem>
#include <latch>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/core/clock.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_db.hpp"

namespace pb::store {
namespace {

using test::Backend;
using test::TempDir;

class MigrationsTest : public ::testing::TestWithParam<Backend> {
  protected:
    test::TestDb db{GetParam()};
    ManualClock clock;
    std::unique_ptr<Store> store = open_store(db.url(), StoreOptions{.pool_size = 2});
};

// A fresh database is at version 0 with every migration pending.
TEST_P(MigrationsTest, FreshDatabaseHasEverythingPending) {
    const auto s = schema_status(*store);
    EXPECT_EQ(s.at("schema_version"), 0);
    EXPECT_EQ(s.at("latest_version"), migrations().back().version);
    EXPECT_EQ(s.at("pending").size(), migrations().size());
    EXPECT_EQ(s.at("backend"), GetParam() == Backend::sqlite ? "sqlite" : "postgresql");
    if (GetParam() == Backend::sqlite) {
        EXPECT_EQ(s.at("location"), db.url());
    }
    EXPECT_TRUE(s.contains("pool_size"));
    EXPECT_TRUE(s.contains("latency_ms"));
}

// migrate() applies every step once; a second run applies nothing.
TEST_P(MigrationsTest, MigrateIsIdempotent) {
    std::vector<std::int64_t> all;
    for (const auto& m : migrations()) {
        all.push_back(m.version);
    }
    EXPECT_EQ(migrate(*store, clock), all);
    EXPECT_TRUE(migrate(*store, clock).empty());
    const auto rows = store->transaction([](Connection& c) {
        return c.query("SELECT COUNT(*), MAX(applied_at) FROM schema_migrations");
    });
    EXPECT_EQ(rows[0].get_int(0), static_cast<std::int64_t>(migrations().size()));
    EXPECT_EQ(rows[0].get_int(1), clock.now());
}

// After migrate() the status is current with nothing pending, and the tables exist.
TEST_P(MigrationsTest, StatusIsCurrentAfterMigrate) {
    migrate(*store, clock);
    const auto s = schema_status(*store);
    EXPECT_EQ(s.at("schema_version"), s.at("latest_version"));
    EXPECT_TRUE(s.at("pending").empty());
    store->transaction([](Connection& c) {
        for (const char* table : {"api_keys", "events", "audit_log"}) {
            EXPECT_EQ(c.query(std::string("SELECT COUNT(*) FROM ") + table).front().get_int(0), 0)
                << table;
        }
    });
}

// A second Store (another process) sees the schema current and migrates nothing.
TEST_P(MigrationsTest, SecondStoreFindsSchemaCurrent) {
    migrate(*store, clock);
    auto other = open_store(db.url(), StoreOptions{.pool_size = 1});
    EXPECT_TRUE(migrate(*other, clock).empty());
}

// A scratch folder on tmpfs (/dev/shm) when there is one, else a TempDir: new
// SQLite files there cost no fsync, so many racing rounds fit in a fast test.
class ScratchDir {
  public:
    ScratchDir() {
        std::string templ = "/dev/shm/pb-test-XXXXXX";
        if (mkdtemp(templ.data()) != nullptr) {
            m_path = templ;
        } else {
            m_fallback.emplace();
            m_path = m_fallback->path();
        }
    }
    ~ScratchDir() {
        if (!m_fallback) {
            std::error_code ec;
            std::filesystem::remove_all(m_path, ec);
        }
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    std::string file(const std::string& name) const { return (m_path / name).string(); }

  private:
    std::optional<TempDir> m_fallback;
    std::filesystem::path m_path;
};

// Processes opening and migrating a new file at once all succeed (pbd and pbctl starting together).
TEST(ConcurrentMigrate, EachStepRunsOnceAndEveryOpenSucceeds) {
    // The race this pins (SQLite refusing the switch to WAL with SQLITE_BUSY,
    // without calling the busy handler) showed up in about 2% of rounds.
    constexpr int k_rounds = 300;
    constexpr int k_openers = 4;
    ScratchDir dir;
    ManualClock clock;
    int failed_opens = 0;
    std::string first_error;
    for (int round = 0; round < k_rounds; ++round) {
        const auto path = dir.file("fresh" + std::to_string(round) + ".db");
        std::vector<std::int64_t> applied[k_openers];
        std::string errors[k_openers];
        {
            std::vector<std::thread> threads;
            std::latch start(k_openers);
            for (int i = 0; i < k_openers; ++i) {
                threads.emplace_back([&, i] {
                    start.arrive_and_wait();
                    try {
                        auto s = open_store(path, StoreOptions{.pool_size = 1});
                        applied[i] = migrate(*s, clock);
                    } catch (const std::exception& e) {
                        errors[i] = e.what();
                    }
                });
            }
            for (auto& t : threads) {
                t.join();
            }
        }
        std::size_t total = 0;
        bool all_opened = true;
        for (int i = 0; i < k_openers; ++i) {
            if (!errors[i].empty()) {
                all_opened = false;
                ++failed_opens;
                first_error = first_error.empty() ? errors[i] : first_error;
            }
            total += applied[i].size();
        }
        if (all_opened) {
            EXPECT_EQ(total, migrations().size()) << "round " << round;
        }
        for (const char* ext : {"", "-wal", "-shm"}) {
            std::filesystem::remove(path + ext);
        }
    }
    EXPECT_EQ(failed_opens, 0) << "first error: " << first_error;
}

// Serial keys (AUTOINCREMENT on SQLite, identity on PostgreSQL) never reuse a deleted number.
TEST_P(MigrationsTest, EventSeqIsNeverReused) {
    migrate(*store, clock);
    const auto seqs = store->transaction([](Connection& c) {
        c.exec("INSERT INTO events (topic, type, created_at) VALUES ('a', 't', 1)");
        c.exec("INSERT INTO events (topic, type, created_at) VALUES ('a', 't', 1)");
        c.exec("DELETE FROM events WHERE seq = (SELECT MAX(seq) FROM events)");
        return c
            .query(
                "INSERT INTO events (topic, type, created_at) VALUES ('a', 't', 1) "
                "RETURNING seq")
            .front()
            .get_int(0);
    });
    EXPECT_EQ(seqs, 3);
}

// Hosts migrating one fresh PostgreSQL schema at once apply each step exactly
// once (the advisory lock), and every one of them ends current.
TEST(ConcurrentMigrate, PostgresAdvisoryLockAppliesEachStepOnce) {
    constexpr int k_openers = 4;
    for (int round = 0; round < 5; ++round) {
        test::TestDb db(Backend::postgres);
        ManualClock clock;
        std::vector<std::int64_t> applied[k_openers];
        std::string errors[k_openers];
        {
            std::vector<std::thread> threads;
            std::latch start(k_openers);
            for (int i = 0; i < k_openers; ++i) {
                threads.emplace_back([&, i] {
                    try {
                        auto s = open_store(db.url(), StoreOptions{.pool_size = 1});
                        start.arrive_and_wait();
                        applied[i] = migrate(*s, clock);
                    } catch (const std::exception& e) {
                        errors[i] = e.what();
                    }
                });
            }
            for (auto& t : threads) {
                t.join();
            }
        }
        std::size_t total = 0;
        for (int i = 0; i < k_openers; ++i) {
            EXPECT_EQ(errors[i], "") << "round " << round;
            total += applied[i].size();
        }
        EXPECT_EQ(total, migrations().size()) << "round " << round;
    }
}

// Drift: migrations are numbered 1, 2, … without gaps and each has a name and SQL.
TEST(MigrationList, IsNumberedWithoutGaps) {
    std::int64_t expected = 1;
    for (const auto& m : migrations()) {
        EXPECT_EQ(m.version, expected++);
        EXPECT_FALSE(m.name.empty());
        EXPECT_FALSE(m.sql.empty());
    }
}

// dialect_sql replaces every {{serial_pk}} with the dialect's words and nothing else.
TEST(DialectSql, ExpandsEverySerialPk) {
    const std::string sql = "CREATE TABLE a (id {{serial_pk}}); CREATE TABLE b (id {{serial_pk}})";
    EXPECT_EQ(dialect_sql(sql, Dialect::sqlite),
              "CREATE TABLE a (id INTEGER PRIMARY KEY AUTOINCREMENT); CREATE TABLE b (id INTEGER "
              "PRIMARY KEY AUTOINCREMENT)");
    EXPECT_EQ(dialect_sql(sql, Dialect::postgresql),
              "CREATE TABLE a (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY); CREATE TABLE "
              "b (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY)");
    EXPECT_EQ(dialect_sql("SELECT 1", Dialect::sqlite), "SELECT 1");
    EXPECT_EQ(dialect_sql("", Dialect::postgresql), "");
}

// No migration leaves a dialect word unexpanded on either dialect.
TEST(DialectSql, LeavesNoPlaceholderInAnyMigration) {
    for (const auto& m : migrations()) {
        for (auto d : {Dialect::sqlite, Dialect::postgresql}) {
            EXPECT_EQ(dialect_sql(m.sql, d).find("{{"), std::string::npos) << m.version;
        }
    }
}

PB_INSTANTIATE_BACKENDS(MigrationsTest);

}  // namespace
}  // namespace pb::store
