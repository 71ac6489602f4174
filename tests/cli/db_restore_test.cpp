// `pbctl db restore FILE`: a backup replaces the SQLite database only after
// it passes the checks, never under a running pbd unless --force, and a file
// that fails changes nothing.

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <thread>

#include <sqlite3.h>

#include "tests/cli/cli_fixture.hpp"

namespace pb::cli::test {
namespace {

namespace fs = std::filesystem;

class DbRestore : public PbctlTest {
  protected:
    // The owners of the keys in the database, sorted (the content a restore swaps).
    std::vector<std::string> owners() {
        std::vector<std::string> out;
        const auto listed = ok_json({"keys", "list"});
        for (const auto& k : listed["keys"]) {
            out.push_back(k["owner"].get<std::string>());
        }
        std::sort(out.begin(), out.end());
        return out;
    }

    // A backup holding one key of owner "before".
    std::string backup_with_one_key() {
        ok({"keys", "create", "--owner", "before", "-q"});
        const auto file = dir.file("backup.db");
        ok({"db", "backup", file});
        return file;
    }

    void sql(const std::string& file, const std::string& text) {
        sqlite3* db = nullptr;
        ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
        char* err = nullptr;
        const int rc = sqlite3_exec(db, text.c_str(), nullptr, nullptr, &err);
        EXPECT_EQ(rc, SQLITE_OK) << (err != nullptr ? err : "");
        sqlite3_free(err);
        sqlite3_close(db);
    }

    // Nothing of a restore was left beside the database.
    void expect_untouched() {
        EXPECT_FALSE(fs::exists(db_path() + ".pre-restore"));
        EXPECT_FALSE(fs::exists(db_path() + ".restore-partial"));
    }
};

// Pins: a backup replaces the database (its keys back, later ones gone), the
// replaced database is kept as .pre-restore, and the new file is private.
TEST_F(DbRestore, RestoresAGoodBackup) {
    const auto file = backup_with_one_key();
    ok({"keys", "create", "--owner", "after", "-q"});
    ASSERT_EQ(owners(), (std::vector<std::string>{"after", "before"}));
    const auto r = ok_json({"db", "restore", file});
    EXPECT_EQ(r["database"], db_path());
    EXPECT_GE(r["schema_version"].get<int>(), 8);
    EXPECT_EQ(r["previous"], db_path() + ".pre-restore");
    EXPECT_EQ(owners(), std::vector<std::string>{"before"});
    struct stat st {};
    ASSERT_EQ(::stat(db_path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0007, 0u) << std::oct << st.st_mode;
    // The replaced database is whole (its WAL folded in): both keys.
    env["PB_DB"] = db_path() + ".pre-restore";
    EXPECT_EQ(owners(), (std::vector<std::string>{"after", "before"}));
}

// Pins: a damaged backup (bytes overwritten, or cut short) is refused with
// exit 2 naming the file and the problem; the database is as it was.
TEST_F(DbRestore, RefusesADamagedFileAndChangesNothing) {
    const auto file = backup_with_one_key();
    ok({"keys", "create", "--owner", "after", "-q"});
    const auto size = fs::file_size(file);
    ASSERT_GT(size, 8192u);
    const auto overwritten = dir.file("overwritten.db");
    fs::copy_file(file, overwritten);
    {
        std::fstream f(overwritten, std::ios::in | std::ios::out | std::ios::binary);
        // Page 2 on: b-tree pages whose headers and cells are now noise.
        f.seekp(4096 + 16);
        const std::string noise(4096, '\xA5');
        f.write(noise.data(), static_cast<std::streamsize>(noise.size()));
    }
    const auto cut = dir.file("cut.db");
    fs::copy_file(file, cut);
    fs::resize_file(cut, size / 2);
    for (const auto& bad : {overwritten, cut}) {
        const auto r = pbctl({"db", "restore", bad});
        EXPECT_EQ(r.exit_code, 2) << describe({"db", "restore", bad}, r);
        EXPECT_NE(r.err.find(bad), std::string::npos) << r.err;
        EXPECT_TRUE(r.err.find("damaged") != std::string::npos ||
                    r.err.find("integrity check") != std::string::npos)
            << r.err;
        expect_untouched();
        EXPECT_EQ(owners(), (std::vector<std::string>{"after", "before"}));
    }
}

// Pins: files that are not pb databases are refused by name: not SQLite at
// all, SQLite without pb's schema, migrations pb does not know, and a schema
// newer than this pbctl; nothing changes.
TEST_F(DbRestore, RefusesFilesThatAreNotPbDatabases) {
    ok({"keys", "create", "--owner", "kept", "-q"});
    const auto text = dir.file("notes.txt");
    std::ofstream(text) << "these are not the pages you are looking for\n";
    const auto other = dir.file("other.db");
    sql(other, "CREATE TABLE t (x INTEGER)");
    const auto foreign = dir.file("foreign.db");
    sql(foreign,
        "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, "
        "applied_at BIGINT NOT NULL); INSERT INTO schema_migrations VALUES (1, 'not ours', 0)");
    const auto newer = dir.file("newer.db");
    ok({"db", "backup", newer});
    sql(newer, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'x', 0)");
    const std::vector<std::pair<std::string, std::string>> cases{
        {text, "is not a SQLite database"},
        {other, "is not a pb database: it has no schema_migrations table"},
        {foreign, "is not pb's"},
        {newer, "has schema version 999, newer than this pb knows"}};
    for (const auto& [file, problem] : cases) {
        const auto r = pbctl({"db", "restore", file});
        EXPECT_EQ(r.exit_code, 2) << describe({"db", "restore", file}, r);
        EXPECT_NE(r.err.find(file), std::string::npos) << r.err;
        EXPECT_NE(r.err.find(problem), std::string::npos) << r.err;
        expect_untouched();
        EXPECT_EQ(owners(), std::vector<std::string>{"kept"});
    }
    const auto missing = pbctl({"db", "restore", dir.file("nope.db")});
    EXPECT_EQ(missing.exit_code, 4) << missing.err;
    // PostgreSQL has pg_restore.
    env["PB_DB"] = "postgresql://pb@127.0.0.1:1/pb";
    const auto pg = pbctl({"db", "restore", text});
    EXPECT_EQ(pg.exit_code, 2) << pg.err;
    EXPECT_NE(pg.err.find("pg_restore"), std::string::npos) << pg.err;
}

// Pins: while pbd has the database open, restore refuses (exit 5) naming
// pbd's pid and changes nothing; --force replaces it, and after pbd stops the
// database is the backup's.
TEST_F(DbRestore, RefusesWhilePbdHoldsTheDatabaseUnlessForced) {
    const auto file = backup_with_one_key();
    ok({"keys", "create", "--owner", "after", "-q"});
    const auto port_file = dir.file("port");
    auto pbd = std::make_unique<pb::test::Process>(
        std::vector<std::string>{pb::test::pbd_path(), "--db", db_path(), "--listen", "127.0.0.1:0",
                                 "--port-file", port_file},
        env, dir.file("pbd.out"), dir.file("pbd.err"));
    for (int i = 0; i < 1000 && pb::test::read_file(port_file).empty() && pbd->running(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_FALSE(pb::test::read_file(port_file).empty())
        << pb::test::read_file(dir.file("pbd.err"));
    const auto refused = pbctl({"db", "restore", file});
    EXPECT_EQ(refused.exit_code, 5) << refused.err;
    EXPECT_NE(refused.err.find("open by process " + std::to_string(pbd->pid())), std::string::npos)
        << refused.err;
    EXPECT_NE(refused.err.find("--force"), std::string::npos) << refused.err;
    expect_untouched();
    // pbd made its bootstrap admin key at start.
    EXPECT_EQ(owners(), (std::vector<std::string>{"after", "before", "bootstrap"}));

    const auto forced = pbctl({"db", "restore", "--force", file});
    EXPECT_EQ(forced.exit_code, 0) << forced.err;
    EXPECT_NE(forced.err.find("restart it"), std::string::npos) << forced.err;
    EXPECT_EQ(pbd->signal_and_wait(SIGTERM, std::chrono::seconds(10)), 0);
    pbd.reset();
    EXPECT_EQ(owners(), std::vector<std::string>{"before"});
}

}  // namespace
}  // namespace pb::cli::test
