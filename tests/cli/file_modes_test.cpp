// What pbctl leaves on disk, and the paths it refuses.
#include <filesystem>
#include <sys/stat.h>

#include "tests/cli/cli_fixture.hpp"

namespace pb::cli::test {
namespace {

unsigned mode_of(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0xFFFF;
}

class FileModesTest : public PbctlTest {};

// Pins: a --db or PB_DB whose folder does not exist is an error naming the
// path (exit 7), and nothing is created: no folder, no empty database.
TEST_F(FileModesTest, MistypedDbIsAnErrorAndCreatesNothing) {
    const auto db = dir.file("nonexistent/dir/pb.db");
    auto r = pbctl({"--db", db, "keys", "list"});
    EXPECT_EQ(r.exit_code, 7) << r.out << r.err;
    EXPECT_NE(r.err.find(db), std::string::npos) << r.err;
    env["PB_DB"] = db;
    r = pbctl({"keys", "list"});
    EXPECT_EQ(r.exit_code, 7) << r.out << r.err;
    EXPECT_FALSE(std::filesystem::exists(dir.file("nonexistent")));
}

// Pins: the default location's folders are the only ones pbctl makes, 0700,
// and the database in them is 0600 (as are its -wal and -shm, and the master key).
TEST_F(FileModesTest, DefaultLocationIsMadePrivate) {
    env.erase("PB_DB");
    ok({"vault", "put", "app/db", "password=s3cret"});
    const auto folder = dir.file("data/pb");
    EXPECT_EQ(mode_of(folder), 0700u);
    EXPECT_EQ(mode_of(dir.file("data")), 0700u);
    for (const auto* name : {"pb.db", "master.key"}) {
        EXPECT_EQ(mode_of(folder + "/" + name), 0600u) << name;
    }
    for (const auto* name : {"pb.db-wal", "pb.db-shm"}) {
        const auto path = folder + "/" + name;
        if (std::filesystem::exists(path)) {
            EXPECT_EQ(mode_of(path), 0600u) << name;
        }
    }
}

// Pins: a database every user can read is refused (exit 7, with the way out),
// and accepted with --allow-insecure-permissions or PB_ALLOW_INSECURE_PERMISSIONS.
TEST_F(FileModesTest, WorldReadableDatabaseIsRefusedUnlessAllowed) {
    ok({"keys", "create", "--owner", "ops"});
    EXPECT_EQ(mode_of(db_path()), 0600u);
    ::chmod(db_path().c_str(), 0644);
    auto r = pbctl({"keys", "list"});
    EXPECT_EQ(r.exit_code, 7) << r.out << r.err;
    EXPECT_NE(r.err.find(db_path()), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("0644"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("--allow-insecure-permissions"), std::string::npos) << r.err;
    ok({"--allow-insecure-permissions", "keys", "list"});
    env["PB_ALLOW_INSECURE_PERMISSIONS"] = "true";
    ok({"keys", "list"});
}

// Pins: a master key others can read is refused (exit 7) unless allowed.
TEST_F(FileModesTest, WorldReadableMasterKeyIsRefusedUnlessAllowed) {
    ok({"vault", "put", "app/db", "password=s3cret"});
    const auto key = dir.file("master.key");
    EXPECT_EQ(mode_of(key), 0600u);
    ::chmod(key.c_str(), 0644);
    const auto r = pbctl({"vault", "get", "app/db"});
    EXPECT_EQ(r.exit_code, 7) << r.out << r.err;
    EXPECT_NE(r.err.find(key), std::string::npos) << r.err;
    ok({"--allow-insecure-permissions", "vault", "get", "app/db"});
}

}  // namespace
}  // namespace pb::cli::test
