#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "tests/cli/cli_fixture.hpp"
#include "tests/support/redis_server.hpp"

namespace pb::cli::test {
namespace {

using SystemCommandsTest = PbctlTest;

// config explain db.url says the value came from the environment (PB_DB).
TEST_F(SystemCommandsTest, ConfigExplainShowsEnvSource) {
    const auto j = ok_json({"config", "explain", "db.url"});
    EXPECT_EQ(j.at("key"), "db.url");
    EXPECT_EQ(j.at("value"), db_path());
    EXPECT_EQ(j.at("source"), "env");
    EXPECT_EQ(j.at("origin"), "PB_DB");
    const auto table = ok({"config", "explain", "db.url"});
    EXPECT_NE(table.find("env"), std::string::npos) << table;
    EXPECT_EQ(ok({"config", "explain", "db.url", "-q"}), db_path() + "\n");
}

// --db beats PB_DB, and explain says so.
TEST_F(SystemCommandsTest, FlagBeatsEnv) {
    const auto other = dir.file("other.db");
    const auto j = ok_json({"--db", other, "config", "explain", "db.url"});
    EXPECT_EQ(j.at("value"), other);
    EXPECT_EQ(j.at("source"), "flag");
}

// A setting from the config file is explained as coming from that file.
TEST_F(SystemCommandsTest, ConfigFileSource) {
    std::ofstream(dir.file("pb.yaml")) << "server:\n  threads: 3\n";
    const auto j = ok_json({"config", "explain", "server.threads"});
    EXPECT_EQ(j.at("value"), "3");
    EXPECT_EQ(j.at("source"), "file");
}

// config show never prints PB_API_KEY's value, in a table or in JSON.
TEST_F(SystemCommandsTest, ConfigShowRedactsTheApiKey) {
    const std::string secret = "pb_SuperSecretApiKeyValue0123456789";
    env["PB_API_KEY"] = secret;
    const auto table = pbctl({"config", "show"});
    EXPECT_EQ(table.exit_code, 0) << table.err;
    EXPECT_NE(table.out.find("cli.api_key"), std::string::npos) << table.out;
    EXPECT_NE(table.out.find("<redacted>"), std::string::npos) << table.out;
    const auto json_out = pbctl({"config", "show", "-o", "json"});
    EXPECT_EQ(json_out.exit_code, 0);
    const auto explained = pbctl({"config", "explain", "cli.api_key", "-o", "json"});
    EXPECT_EQ(explained.exit_code, 0);
    EXPECT_EQ(nlohmann::json::parse(explained.out).at("source"), "env");
    for (const auto& r : {table, json_out, explained}) {
        EXPECT_EQ(r.out.find(secret), std::string::npos) << r.out;
        EXPECT_EQ(r.err.find(secret), std::string::npos) << r.err;
    }
}

// A badly typed environment value exits 2 naming the setting.
TEST_F(SystemCommandsTest, BadEnvValueExits2) {
    env["PB_TIMEOUT"] = "forever";
    const auto r = pbctl({"health"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("cli.timeout"), std::string::npos) << r.err;
}

// db status reports the schema, and db migrate has nothing left to apply.
TEST_F(SystemCommandsTest, DbStatusAndMigrate) {
    const auto status = ok_json({"db", "status"});
    EXPECT_EQ(status.at("backend"), "sqlite");
    EXPECT_EQ(status.at("location"), db_path());
    EXPECT_GE(status.at("schema_version").get<int>(), 1);
    EXPECT_EQ(status.at("schema_version"), status.at("latest_version"));
    EXPECT_TRUE(status.at("pending").empty());
    const auto migrated = ok_json({"db", "migrate"});
    EXPECT_TRUE(migrated.at("applied").empty());
    EXPECT_EQ(migrated.at("schema_version"), status.at("schema_version"));
    EXPECT_NE(ok({"db", "status"}).find("sqlite"), std::string::npos);
}

// The database file is created where PB_DB says, and nowhere else (its folder
// must exist: see file_modes_test.cpp).
TEST_F(SystemCommandsTest, CreatesTheDatabaseWherePbDbSays) {
    std::filesystem::create_directories(dir.file("nested/dir"));
    env["PB_DB"] = dir.file("nested/dir/pb.db");
    ok({"db", "status"});
    EXPECT_TRUE(std::filesystem::exists(dir.file("nested/dir/pb.db")));
    EXPECT_FALSE(std::filesystem::exists(dir.file("data")));
}

// health -o json says ok with the database component ok; -q prints just "ok".
TEST_F(SystemCommandsTest, HealthIsOk) {
    const auto j = ok_json({"health"});
    EXPECT_EQ(j.at("status"), "ok");
    EXPECT_EQ(j.at("components").at("db").at("status"), "ok");
    EXPECT_EQ(ok({"health", "-q"}), "ok\n");
}

// With --redis, health lists Redis with its round trip and version; with
// Redis gone, health fails (exit 7) naming it, without the password.
TEST_F(SystemCommandsTest, HealthShowsRedis) {
    auto redis = std::make_unique<pb::test::RedisServer>(
        pb::test::RedisServer::Options{.password = "pb-cli-secret"});
    const auto url = "redis://:pb-cli-secret@127.0.0.1:" + std::to_string(redis->port()) + "/0";
    const auto j = ok_json({"--redis", url, "health"});
    const auto& component = j.at("components").at("redis");
    EXPECT_EQ(component.at("status"), "ok");
    EXPECT_TRUE(component.at("version").get<std::string>().starts_with("7."));
    EXPECT_GE(component.at("latency_ms").get<double>(), 0.0);
    redis.reset();
    const auto down = pbctl({"--redis", url, "health", "-o", "json"});
    EXPECT_EQ(down.exit_code, 7) << down.out << down.err;
    EXPECT_NE(down.out.find("redis is unavailable"), std::string::npos) << down.out;
    EXPECT_EQ((down.out + down.err).find("pb-cli-secret"), std::string::npos);
}

// --version prints "pbctl <version>" and exits 0; the version op agrees.
TEST_F(SystemCommandsTest, VersionFlag) {
    const auto r = pbctl({"--version"});
    EXPECT_EQ(r.exit_code, 0);
    ASSERT_TRUE(r.out.starts_with("pbctl ")) << r.out;
    const auto v = ok_json({"version"});
    EXPECT_EQ(r.out, "pbctl " + v.at("version").get<std::string>() + " (commit " +
                         v.at("commit").get<std::string>() + ", " +
                         v.at("compiler").get<std::string>() + ", " +
                         v.at("build_type").get<std::string>() + ")\n");
}

// With no command pbctl prints help listing the groups and exits 0.
TEST_F(SystemCommandsTest, NoCommandPrintsHelp) {
    const auto r = pbctl({});
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_NE(r.out.find("keys"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("config"), std::string::npos) << r.out;
    const auto help = pbctl({"keys", "create", "--help"});
    EXPECT_EQ(help.exit_code, 0);
    EXPECT_NE(help.out.find("--expires"), std::string::npos) << help.out;
    EXPECT_NE(help.out.find("--perm"), std::string::npos) << help.out;
}

}  // namespace
}  // namespace pb::cli::test
