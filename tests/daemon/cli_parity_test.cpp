#include <gtest/gtest.h>

#include "tests/daemon/daemon_fixture.hpp"

namespace pb::test {
namespace {

using nlohmann::json;

// Pins: a key revoked by the real pbctl on the database, while pbd runs, is
// refused by pbd's very next verify and as a credential (no stale cache).
TEST(DaemonCliParity, RevokeByPbctlIsSeenAtOnce) {
    TempDir dir;
    RunningDaemon pbd(dir);
    const auto admin = pbd.bootstrap_key();
    auto client = pbd.client();
    const auto created = body_json(client->Post("/v1/keys", bearer(admin),
                                                R"({"owner":"svc","permissions":["keys:read"]})",
                                                "application/json"));
    const std::string key = created["key"];
    const std::string id = created["id"];
    const auto verify = [&] {
        return body_json(
            client->Post("/v1/keys/verify", json{{"key", key}}.dump(), "application/json"));
    };
    ASSERT_EQ(verify()["valid"], true);  // now cached by pbd
    ASSERT_EQ(status_of(client->Get("/v1/keys", bearer(key))), 200);

    const auto revoke = run({pbctl_path(), "--db", pbd.db(), "keys", "revoke", id}, {});
    ASSERT_EQ(revoke.exit_code, 0) << revoke.err;

    const auto after = verify();
    EXPECT_EQ(after["valid"], false);
    EXPECT_EQ(after["reason"], "revoked");
    const auto refused = client->Get("/v1/keys", bearer(key));
    EXPECT_EQ(status_of(refused), 401);
    EXPECT_EQ(body_json(refused)["detail"], "API key is revoked");
}

// Runs pbctl with `args` in `mode` ({} = local on `db`, else remote via env).
struct Mode {
    std::vector<std::string> prefix;
    std::map<std::string, std::string> env;
};

RunResult pbctl(const Mode& mode, std::vector<std::string> args) {
    std::vector<std::string> argv{pbctl_path()};
    argv.insert(argv.end(), mode.prefix.begin(), mode.prefix.end());
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, mode.env);
}

// What must match between modes: everything but ids, times and who created it.
json normalised(json j) {
    for (const char* field : {"id", "created_at", "updated_at", "last_used_at", "created_by"}) {
        j.erase(field);
    }
    return j;
}

struct Transcript {
    json shown;
    json listed;
    json updated;
    int not_found = -1;
    int bad_args = -1;
    int invalid_verify = -1;
    int valid_verify = -1;
};

Transcript scenario(const Mode& mode) {
    Transcript t;
    const auto created =
        pbctl(mode, {"-o", "json", "keys", "create", "--owner", "parity", "--name", "ci", "--perm",
                     "deploy:write", "--perm", "keys:read", "--metadata", R"({"team":"infra"})"});
    EXPECT_EQ(created.exit_code, 0) << created.err;
    const auto key = json::parse(created.out);
    const std::string id = key["id"];
    const auto show = pbctl(mode, {"-o", "json", "keys", "show", id});
    EXPECT_EQ(show.exit_code, 0) << show.err;
    t.shown = normalised(json::parse(show.out));
    const auto list = pbctl(mode, {"-o", "json", "keys", "list", "--owner", "parity"});
    EXPECT_EQ(list.exit_code, 0) << list.err;
    const auto listed = json::parse(list.out);
    for (const auto& k : listed["keys"]) {
        t.listed.push_back(normalised(k));
    }
    const auto update = pbctl(mode, {"-o", "json", "keys", "update", id, "--name", "renamed"});
    EXPECT_EQ(update.exit_code, 0) << update.err;
    t.updated = normalised(json::parse(update.out));
    t.not_found = pbctl(mode, {"keys", "show", "AAAAAAAAAAAA"}).exit_code;
    t.bad_args = pbctl(mode, {"keys", "create", "--owner", "x", "--perm", "not a perm!"}).exit_code;
    t.invalid_verify = pbctl(mode, {"keys", "verify", "pb_not_a_key"}).exit_code;
    t.valid_verify = pbctl(mode, {"-q", "keys", "verify", key["key"]}).exit_code;
    return t;
}

// Pins: the same pbctl scenario gives the same JSON and exit codes locally
// (--db) and through pbd (--server with PB_API_KEY): not_found 4, bad
// arguments 2, a key that does not verify 3.
TEST(DaemonCliParity, LocalAndRemoteAgree) {
    TempDir local_dir;
    const auto local = scenario({.prefix = {"--db", local_dir.file("pb.db")}});

    TempDir remote_dir;
    RunningDaemon pbd(remote_dir);
    const auto remote =
        scenario({.prefix = {"--server", pbd.url()}, .env = {{"PB_API_KEY", pbd.bootstrap_key()}}});

    EXPECT_EQ(local.shown, remote.shown);
    EXPECT_EQ(local.listed, remote.listed);
    EXPECT_EQ(local.updated, remote.updated);
    EXPECT_EQ(local.not_found, 4);
    EXPECT_EQ(remote.not_found, 4);
    EXPECT_EQ(local.bad_args, 2);
    EXPECT_EQ(remote.bad_args, 2);
    EXPECT_EQ(local.invalid_verify, 3);
    EXPECT_EQ(remote.invalid_verify, 3);
    EXPECT_EQ(local.valid_verify, 0);
    EXPECT_EQ(remote.valid_verify, 0);
    EXPECT_EQ(local.listed.size(), 1u);
}

}  // namespace
}  // namespace pb::test
