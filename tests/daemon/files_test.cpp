// What pbd leaves on disk: nothing others can read, nothing where the operator did not ask.
#include <filesystem>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "tests/daemon/daemon_fixture.hpp"

namespace pb::test {
namespace {

unsigned mode_of(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0xFFFF;
}

// Issues a token through pbd, which makes the master key (signing keys are sealed under it).
void use_master_key(const RunningDaemon& pbd) {
    const auto res = pbd.client()->Post("/v1/tokens", bearer(pbd.bootstrap_key()),
                                        R"({"sub":"files-test"})", "application/json");
    ASSERT_EQ(status_of(res), 201) << (res ? res->body : "no answer");
}

// Pins: after a first start under a umask that would allow it (022), the
// database, its -wal and -shm, the master key and the bootstrap key are 0600.
TEST(DaemonFiles, FirstStartLeavesOnlyPrivateFiles) {
    TempDir dir;
    RunningDaemon pbd(dir);
    use_master_key(pbd);
    for (const auto* name :
         {"pb.db", "pb.db-wal", "pb.db-shm", "master.key", "bootstrap-admin.key"}) {
        EXPECT_EQ(mode_of(dir.file(name)), 0600u) << name;
    }
}

// Pins: in a folder shared with pb's own group and nobody else (as the package
// makes /var/lib/pb: 0750 pb:pb), the database is 0640 so the group's pbctl
// can read it; the keys stay 0600.
TEST(DaemonFiles, GroupSharedFolderGivesTheDatabaseGroupRead) {
    TempDir top;
    const auto dir = top.path() / "state";
    std::filesystem::create_directory(dir);
    ::chmod(dir.c_str(), 0750);  // its group is ours: we made it
    RunningDaemon pbd(top, {.db = (dir / "pb.db").string()});
    use_master_key(pbd);
    for (const auto* name : {"pb.db", "pb.db-wal", "pb.db-shm"}) {
        EXPECT_EQ(mode_of((dir / name).string()), 0640u) << name;
    }
    EXPECT_EQ(mode_of((dir / "master.key").string()), 0600u);
    EXPECT_EQ(mode_of((dir / "bootstrap-admin.key").string()), 0600u);
}

// Pins: a --db whose folder does not exist stops pbd (exit 7, naming the
// path) and creates nothing: no folder, no database, no key.
TEST(DaemonFiles, MistypedDbCreatesNothing) {
    TempDir dir;
    const auto db = dir.file("no/such/dir/pb.db");
    const auto r = run({pbd_path(), "--db", db, "--listen", "127.0.0.1:0"}, {});
    EXPECT_EQ(r.exit_code, 7) << r.err;
    EXPECT_NE(r.err.find(db), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(dir.file("no")));
    EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

// Pins: a database or master key others can read stops pbd with a clear error
// (exit 7) unless --allow-insecure-permissions (or its variable) accepts it.
TEST(DaemonFiles, WorldReadableFilesAreRefusedUnlessAllowed) {
    TempDir dir;
    {
        RunningDaemon pbd(dir);
        use_master_key(pbd);
    }
    ::chmod(dir.file("pb.db").c_str(), 0644);
    const std::vector<std::string> start{pbd_path(), "--db", dir.file("pb.db"), "--listen",
                                         "127.0.0.1:0"};
    auto r = run(start, {});
    EXPECT_EQ(r.exit_code, 7) << r.err;
    EXPECT_NE(r.err.find(dir.file("pb.db")), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("--allow-insecure-permissions"), std::string::npos) << r.err;
    {
        RunningDaemon pbd(dir, {.args = {"--allow-insecure-permissions"}});
        EXPECT_GT(pbd.port(), 0);
    }
    ::chmod(dir.file("pb.db").c_str(), 0600);
    ::chmod(dir.file("master.key").c_str(), 0644);
    r = run(start, {});
    EXPECT_EQ(r.exit_code, 7) << r.err;
    EXPECT_NE(r.err.find(dir.file("master.key")), std::string::npos) << r.err;
    RunningDaemon pbd(dir, {.env = {{"PB_ALLOW_INSECURE_PERMISSIONS", "true"}}});
    EXPECT_GT(pbd.port(), 0);
}

}  // namespace
}  // namespace pb::test
