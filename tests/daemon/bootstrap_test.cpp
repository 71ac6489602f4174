#include <sys/stat.h>

#include <gtest/gtest.h>

#include "tests/daemon/daemon_fixture.hpp"
#include "tests/support/test_db.hpp"

namespace pb::test {
namespace {

constexpr const char* k_written_line = "pbd: bootstrap admin key written to ";

unsigned mode_of(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0xFFFF;
}

// Pins: with stdout not a terminal (a file here, the journal under systemd),
// the first start writes the admin key to bootstrap-admin.key beside the
// database (0600) and says only where; the secret is in no output stream; the
// key works as admin, and keys list marks it as the bootstrap key.
TEST(DaemonBootstrap, WritesTheKeyToItsOwnFileAndNoOutputStream) {
    TempDir dir;
    std::string key;
    {
        RunningDaemon pbd(dir);
        key = pbd.bootstrap_key();
        ASSERT_FALSE(key.empty()) << pbd.out();
        EXPECT_EQ(pbd.bootstrap_key_file(), dir.file("bootstrap-admin.key"));
        EXPECT_EQ(mode_of(pbd.bootstrap_key_file()), 0600u);
        const auto out = pbd.out();
        EXPECT_NE(out.find(k_written_line + dir.file("bootstrap-admin.key")), std::string::npos)
            << out;
        EXPECT_EQ(out.find(k_written_line), out.rfind(k_written_line)) << "printed twice";

        auto client = pbd.client();
        const auto list = client->Get("/v1/keys", bearer(key));
        ASSERT_EQ(status_of(list), 200);
        const auto keys = body_json(list)["keys"];
        ASSERT_EQ(keys.size(), 1u);
        EXPECT_EQ(keys[0]["owner"], "bootstrap");
        EXPECT_EQ(keys[0]["bootstrap"], true);
        EXPECT_EQ(keys[0]["permissions"], nlohmann::json::array({"admin"}));
        const auto created =
            client->Post("/v1/keys", bearer(key), R"({"owner":"ci"})", "application/json");
        EXPECT_EQ(status_of(created), 201);
        EXPECT_EQ(body_json(created)["bootstrap"], false);
        ASSERT_EQ(pbd.process().signal_and_wait(SIGTERM, std::chrono::seconds(5)), 0);
        for (const auto& stream : {pbd.out(), pbd.err()}) {
            EXPECT_EQ(stream.find(key.substr(16)), std::string::npos) << "the secret leaked";
        }
    }
    // pbctl keys list (table) shows which key to revoke once the operator has theirs.
    const auto table = run({pbctl_path(), "--db", dir.file("pb.db"), "keys", "list"}, {});
    ASSERT_EQ(table.exit_code, 0) << table.err;
    EXPECT_NE(table.out.find("bootstrap"), std::string::npos) << table.out;
    const auto json =
        run({pbctl_path(), "--db", dir.file("pb.db"), "-o", "json", "keys", "list"}, {});
    ASSERT_EQ(json.exit_code, 0) << json.err;
    int marked = 0;
    const auto listed = nlohmann::json::parse(json.out);
    for (const auto& k : listed["keys"]) {
        marked += k["bootstrap"] == true ? 1 : 0;
    }
    EXPECT_EQ(marked, 1) << json.out;

    // Pins: a second start (an admin key exists) writes and prints nothing.
    const auto before = read_file(dir.file("bootstrap-admin.key"));
    RunningDaemon again(dir);
    EXPECT_EQ(again.out().find(k_written_line), std::string::npos) << again.out();
    EXPECT_EQ(read_file(dir.file("bootstrap-admin.key")), before);
    EXPECT_EQ(status_of(again.client()->Get("/v1/keys", bearer(key))), 200);
}

// Pins: a bootstrap key file that already exists is never overwritten (O_EXCL):
// pbd makes no key then, says why in its log, and still starts.
TEST(DaemonBootstrap, LeavesAnExistingKeyFileAloneAndMakesNoKey) {
    TempDir dir;
    std::ofstream(dir.file("bootstrap-admin.key")) << "the operator's\n";
    RunningDaemon pbd(dir);
    EXPECT_EQ(read_file(dir.file("bootstrap-admin.key")), "the operator's\n");
    EXPECT_EQ(pbd.out().find(k_written_line), std::string::npos) << pbd.out();
    EXPECT_NE(pbd.err().find("already exists"), std::string::npos) << pbd.err();
    const auto local = run({pbctl_path(), "--db", pbd.db(), "-o", "json", "keys", "list"}, {});
    ASSERT_EQ(local.exit_code, 0) << local.err;
    EXPECT_TRUE(nlohmann::json::parse(local.out)["keys"].empty()) << local.out;
}

// Pins: server.bootstrap_key_file (--bootstrap-key-file) names the file; a
// folder that does not exist stops the start (exit 7, named) and no key is made.
TEST(DaemonBootstrap, KeyFileSettingIsUsedAndItsFolderMustExist) {
    TempDir dir;
    {
        RunningDaemon pbd(dir, {.args = {"--bootstrap-key-file", dir.file("admin.key")}});
        EXPECT_EQ(pbd.bootstrap_key(), "");  // not beside the database
        EXPECT_EQ(mode_of(dir.file("admin.key")), 0600u);
        EXPECT_EQ(pbd.out().find(read_file(dir.file("admin.key")).substr(0, 20)),
                  std::string::npos);
    }
    TempDir other;
    const auto missing = other.file("no/such/dir/admin.key");
    const auto r = run({pbd_path(), "--db", other.file("pb.db"), "--listen", "127.0.0.1:0",
                        "--bootstrap-key-file", missing},
                       {});
    EXPECT_EQ(r.exit_code, 7) << r.err;
    EXPECT_NE(r.err.find(missing), std::string::npos) << r.err;
    const auto local =
        run({pbctl_path(), "--db", other.file("pb.db"), "-o", "json", "keys", "list"}, {});
    ASSERT_EQ(local.exit_code, 0) << local.err;
    EXPECT_TRUE(nlohmann::json::parse(local.out)["keys"].empty()) << local.out;
}

// Pins: on PostgreSQL with no bootstrap_key_file and no $STATE_DIRECTORY, pbd
// refuses to make the key, saying what to set; with $STATE_DIRECTORY the key
// goes there.
TEST(DaemonBootstrap, PostgresNeedsAPlaceForTheKey) {
    TestDb db(Backend::postgres);
    TempDir dir;
    const std::map<std::string, std::string> env{{"PB_MASTER_KEY_FILE", dir.file("master.key")}};
    const auto r = run({pbd_path(), "--db", db.url(), "--listen", "127.0.0.1:0"}, env);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("server.bootstrap_key_file"), std::string::npos) << r.err;
    const auto check = run({pbd_path(), "--check-config", "--db", db.url()}, env);
    EXPECT_EQ(check.exit_code, 2) << check.out << check.err;
    EXPECT_NE(check.err.find("server.bootstrap_key_file"), std::string::npos) << check.err;

    auto with_state = env;
    with_state["STATE_DIRECTORY"] = dir.path().string();
    with_state["PB_BOOTSTRAP_KEY_FILE"] = "";
    RunningDaemon pbd(dir, {.env = with_state, .db = db.url()});
    const auto key = read_file(dir.file("bootstrap-admin.key"));
    ASSERT_FALSE(key.empty()) << pbd.out() << pbd.err();
    EXPECT_EQ(mode_of(dir.file("bootstrap-admin.key")), 0600u);
    EXPECT_EQ(pbd.out().find(key.substr(0, 20)), std::string::npos);
}

// Pins: --no-bootstrap creates no key even on an empty database.
TEST(DaemonBootstrap, NoBootstrapFlagCreatesNoKey) {
    TempDir dir;
    RunningDaemon pbd(dir, {.args = {"--no-bootstrap"}});
    EXPECT_EQ(pbd.out().find(k_written_line), std::string::npos) << pbd.out();
    EXPECT_EQ(pbd.bootstrap_key(), "");
    const auto local = run({pbctl_path(), "--db", pbd.db(), "-o", "json", "keys", "list"}, {});
    ASSERT_EQ(local.exit_code, 0) << local.err;
    EXPECT_TRUE(nlohmann::json::parse(local.out)["keys"].empty());
}

// Pins: PB_BOOTSTRAP=false in the environment works like the flag.
TEST(DaemonBootstrap, EnvironmentCanTurnBootstrapOff) {
    TempDir dir;
    RunningDaemon pbd(dir, {.env = {{"PB_BOOTSTRAP", "false"}}});
    EXPECT_EQ(pbd.out().find(k_written_line), std::string::npos) << pbd.out();
}

}  // namespace
}  // namespace pb::test
