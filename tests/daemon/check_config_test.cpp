// pbd --check-config fails exactly where a start would, with the same words.
#include <filesystem>
#include <fstream>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "tests/daemon/daemon_fixture.hpp"

namespace pb::test {
namespace {

// --check-config and a real start on the same flags and environment.
struct Verdicts {
    RunResult check;
    RunResult start;
};

Verdicts check_and_start(const TempDir& dir, const std::map<std::string, std::string>& env,
                         std::vector<std::string> extra = {}) {
    std::vector<std::string> argv{pbd_path(), "--db", dir.file("pb.db"), "--listen", "127.0.0.1:0"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto check_argv = argv;
    check_argv.push_back("--check-config");
    Verdicts v;
    v.check = run(check_argv, env);
    v.start = run(argv, env, "", std::chrono::seconds(10));
    return v;
}

// The first line of a refusal without "pbd: " or the log's prefix: what both say.
bool says(const RunResult& r, const std::string& what) {
    return r.err.find(what) != std::string::npos;
}

// Pins: a secret: reference that does not exist fails --check-config (exit 2,
// naming the setting and the reference), as it fails the start; on a fresh
// database and on one that exists.
TEST(DaemonCheckConfig, MissingSecretReferenceFailsAsTheStartDoes) {
    TempDir dir;
    std::ofstream(dir.file("pb.yaml")) << "tokens:\n  hmac_secret: secret:app/jwt#key\n";
    const std::map<std::string, std::string> env{{"PB_CONFIG", dir.file("pb.yaml")}};
    auto v = check_and_start(dir, env);
    EXPECT_EQ(v.check.exit_code, 2) << v.check.out << v.check.err;
    EXPECT_EQ(v.check.out, "");
    EXPECT_TRUE(says(v.check, "tokens.hmac_secret")) << v.check.err;
    EXPECT_TRUE(says(v.check, "secret:app/jwt#key does not exist")) << v.check.err;
    EXPECT_EQ(v.start.exit_code, 2) << v.start.err;
    EXPECT_TRUE(says(v.start, "secret:app/jwt#key does not exist")) << v.start.err;

    // Once the secret exists (pbctl on the database), both go through.
    const auto put = run({pbctl_path(), "--db", dir.file("pb.db"), "vault", "put", "app/jwt",
                          "key=" + std::string(40, 'k')},
                         {});
    ASSERT_EQ(put.exit_code, 0) << put.err;
    const auto ok = run({pbd_path(), "--db", dir.file("pb.db"), "--check-config"}, env);
    EXPECT_EQ(ok.exit_code, 0) << ok.err;
    EXPECT_EQ(ok.out, "OK\n");
    // A reference to another field of it still fails, now that the database exists.
    std::ofstream(dir.file("pb.yaml")) << "tokens:\n  hmac_secret: secret:app/jwt#other\n";
    v = check_and_start(dir, env);
    EXPECT_EQ(v.check.exit_code, 2) << v.check.err;
    EXPECT_TRUE(says(v.check, "secret:app/jwt#other does not exist")) << v.check.err;
    EXPECT_EQ(v.start.exit_code, 2) << v.start.err;
}

// Pins: a master key whose folder does not exist, and a master key others can
// read, fail --check-config and the start alike (exit 7, naming the file).
TEST(DaemonCheckConfig, MasterKeyProblemsFailAsTheStartDoes) {
    TempDir dir;
    const auto missing = dir.file("keys/master.key");
    auto v = check_and_start(dir, {{"PB_MASTER_KEY_FILE", missing}});
    EXPECT_EQ(v.check.exit_code, 7) << v.check.err;
    EXPECT_TRUE(says(v.check, missing)) << v.check.err;
    EXPECT_EQ(v.start.exit_code, 7) << v.start.err;
    EXPECT_TRUE(says(v.start, missing)) << v.start.err;
    EXPECT_FALSE(std::filesystem::exists(dir.file("keys")));

    const auto shared = dir.file("master.key");
    std::ofstream(shared) << "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
    ::chmod(shared.c_str(), 0644);
    v = check_and_start(dir, {{"PB_MASTER_KEY_FILE", shared}});
    EXPECT_EQ(v.check.exit_code, 7) << v.check.err;
    EXPECT_TRUE(says(v.check, shared)) << v.check.err;
    EXPECT_EQ(v.start.exit_code, 7) << v.start.err;
}

// Pins: on PostgreSQL a master key file must be named (every pbd and pbctl of
// the database shares it): without one, --check-config and the start refuse
// at once (exit 2, naming the setting), before any connection is tried.
TEST(DaemonCheckConfig, PostgresWithoutAMasterKeyFileFailsAsTheStartDoes) {
    const std::string url = "postgresql://pb@127.0.0.1:9/pb";  // nothing listens: never reached
    for (const bool check : {true, false}) {
        std::vector<std::string> argv{pbd_path(), "--db", url, "--listen", "127.0.0.1:0"};
        if (check) {
            argv.push_back("--check-config");
        }
        const auto r = run(argv, {}, "", std::chrono::seconds(10));
        EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
        EXPECT_TRUE(says(r, "security.master_key_file must be set on PostgreSQL")) << r.err;
    }
}

// Pins: an actions path that does not exist fails both (exit 7, named); the
// password file likewise.
TEST(DaemonCheckConfig, MissingFilesFailAsTheStartDoes) {
    TempDir dir;
    const auto actions = dir.file("actions.d");
    auto v = check_and_start(dir, {{"PB_ACTIONS_PATHS", actions}});
    EXPECT_EQ(v.check.exit_code, 7) << v.check.err;
    EXPECT_TRUE(says(v.check, "actions.paths: " + actions)) << v.check.err;
    EXPECT_EQ(v.start.exit_code, 7) << v.start.err;
    EXPECT_TRUE(says(v.start, "actions.paths: " + actions)) << v.start.err;

    const auto password = dir.file("pg.password");
    v = check_and_start(dir, {{"PB_DB_PASSWORD_FILE", password}});
    EXPECT_EQ(v.check.exit_code, 7) << v.check.err;
    EXPECT_TRUE(says(v.check, password)) << v.check.err;
    EXPECT_EQ(v.start.exit_code, 7) << v.start.err;
}

// Pins: a good configuration is OK, and checking it writes nothing (no
// database, no key file), so root may run it before pbd's first start.
TEST(DaemonCheckConfig, GoodConfigurationIsOkAndWritesNothing) {
    TempDir dir;
    std::filesystem::create_directory(dir.file("actions.d"));
    const auto r = run({pbd_path(), "--check-config", "--db", dir.file("pb.db")},
                       {{"PB_ACTIONS_PATHS", dir.file("actions.d")}});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "OK\n");
    EXPECT_FALSE(std::filesystem::exists(dir.file("pb.db")));
    EXPECT_FALSE(std::filesystem::exists(dir.file("master.key")));
    EXPECT_FALSE(std::filesystem::exists(dir.file("bootstrap-admin.key")));
}

}  // namespace
}  // namespace pb::test
