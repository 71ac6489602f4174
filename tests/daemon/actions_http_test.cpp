#include <filesystem>
#include <fstream>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "tests/daemon/daemon_fixture.hpp"

namespace pb::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string k_print_argv =
    std::string(PB_SOURCE_DIR) + "/tests/unit/actions/scripts/print_argv.py";

std::string echo_action(const std::string& description) {
    return "name: echo\ndescription: " + description +
           "\npermission: deploy:run\nparams:\n  word: {type: string, required: true}\n"
           "run:\n  command: [" +
           k_print_argv + ", \"{{word}}\"]\n";
}

// A real pbd with PB_ACTIONS_PATHS naming a temp folder: a command action
// needing deploy:run and an op action (keys.rotate) needing keys:rotate.
class DaemonActions : public ::testing::Test {
  protected:
    void SetUp() override {
        fs::create_directories(m_dir.file("actions"));
        std::ofstream(m_dir.file("actions/echo.yaml")) << echo_action("Prints its word");
        std::ofstream(m_dir.file("actions/rotate.yaml"))
            << "name: rotate\ndescription: Rotates a key\npermission: keys:rotate\nparams:\n"
               "  id: {type: string, required: true}\nrun:\n  op: keys.rotate\n  args: {id: "
               "\"{{id}}\"}\n";
        m_pbd = std::make_unique<RunningDaemon>(
            m_dir, DaemonOptions{.env = {{"PB_ACTIONS_PATHS", m_dir.file("actions")}}});
        m_admin = m_pbd->bootstrap_key();
        ASSERT_FALSE(m_admin.empty());
        m_client = m_pbd->client();
    }

    // A new key with `permissions`; returns {"key","id"}.
    json key_with(const std::vector<std::string>& permissions) {
        const auto res = m_client->Post("/v1/keys", bearer(m_admin),
                                        json{{"owner", "t"}, {"permissions", permissions}}.dump(),
                                        "application/json");
        EXPECT_EQ(status_of(res), 201);
        return body_json(res);
    }

    httplib::Result run(const std::string& key, const std::string& name, const json& args) {
        return m_client->Post("/v1/actions/" + name + "/run", bearer(key),
                              json{{"args", args}}.dump(), "application/json");
    }

    TempDir m_dir;
    std::unique_ptr<RunningDaemon> m_pbd;
    std::string m_admin;
    std::unique_ptr<httplib::Client> m_client;
};

// Listing and showing need actions:read; no credential is 401.
TEST_F(DaemonActions, ListAndShowNeedActionsRead) {
    const auto reader = key_with({"actions:read"})["key"].get<std::string>();
    const auto other = key_with({"keys:read"})["key"].get<std::string>();
    auto res = m_client->Get("/v1/actions", bearer(reader));
    ASSERT_EQ(status_of(res), 200);
    EXPECT_EQ(body_json(res)["actions"].size(), 2u) << res->body;
    EXPECT_EQ(status_of(m_client->Get("/v1/actions", bearer(other))), 403);
    EXPECT_EQ(status_of(m_client->Get("/v1/actions")), 401);
    res = m_client->Get("/v1/actions/echo", bearer(reader));
    ASSERT_EQ(status_of(res), 200);
    EXPECT_EQ(body_json(res)["params"][0]["name"], "word");
    EXPECT_EQ(status_of(m_client->Get("/v1/actions/nope", bearer(reader))), 404);
}

// A run needs the action's own permission: with it the command runs and its
// result comes back; without it 403 and nothing runs; bad arguments are 400.
TEST_F(DaemonActions, RunChecksTheActionsOwnPermission) {
    const auto runner = key_with({"actions:read", "deploy:run"})["key"].get<std::string>();
    const auto reader = key_with({"actions:read"})["key"].get<std::string>();
    auto res = run(runner, "echo", {{"word", "; rm -rf / $(id)"}});
    ASSERT_EQ(status_of(res), 200) << res->body;
    const auto result = body_json(res);
    EXPECT_EQ(result["status"], "succeeded");
    EXPECT_EQ(json::parse(result["stdout"].get<std::string>())["argv"],
              json::array({"; rm -rf / $(id)"}));
    for (const char* k : {"action", "exit_code", "stderr", "duration_ms", "truncated"}) {
        EXPECT_TRUE(result.contains(k)) << k;
    }

    res = run(reader, "echo", {{"word", "x"}});
    EXPECT_EQ(status_of(res), 403);
    EXPECT_EQ(body_json(res)["permission"], "deploy:run") << res->body;
    EXPECT_EQ(status_of(run(runner, "echo", {{"word", "x"}, {"extra", 1}})), 400);
    EXPECT_EQ(status_of(run(runner, "echo", {{"word", "-rf"}})), 400);
    EXPECT_EQ(status_of(run(runner, "nope", json::object())), 404);
}

// pbctl --server sends actions.run to pbd; --exit-status works remotely too.
TEST_F(DaemonActions, PbctlRunsActionsThroughPbd) {
    const auto runner = key_with({"actions:read", "deploy:run"})["key"].get<std::string>();
    const std::map<std::string, std::string> env{{"PB_SERVER", m_pbd->url()},
                                                 {"PB_API_KEY", runner},
                                                 {"PB_CONFIG", m_dir.file("none.yaml")}};
    std::ofstream(m_dir.file("none.yaml")) << "";
    auto r = pb::test::run(
        {pbctl_path(), "actions", "run", "echo", "--arg", "word=$(id)", "-o", "json"}, env);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto result = json::parse(r.out);
    EXPECT_EQ(json::parse(result["stdout"].get<std::string>())["argv"], json::array({"$(id)"}));
    r = pb::test::run({pbctl_path(), "actions", "run", "rotate", "--arg", "id=x", "--exit-status"},
                      env);
    EXPECT_EQ(r.exit_code, 6) << r.err;  // permission_denied, not the command's code
}

// An op action runs its op as the caller: the action's permission and the
// op's own (keys:write for keys.rotate) are both needed.
TEST_F(DaemonActions, OpActionsKeepTheOpsPermission) {
    const auto target = key_with({"deploy:write"})["id"].get<std::string>();
    const auto narrow = key_with({"actions:read", "keys:rotate"})["key"].get<std::string>();
    const auto full =
        key_with({"actions:read", "keys:rotate", "keys:write"})["key"].get<std::string>();
    EXPECT_EQ(status_of(run(narrow, "rotate", {{"id", target}})), 403);
    const auto res = run(full, "rotate", {{"id", target}});
    ASSERT_EQ(status_of(res), 200) << res->body;
    EXPECT_EQ(body_json(res)["result"]["id"], target);
}

// A new file is picked up without a restart, and SIGHUP reloads an edit
// whose file kept its size and mtime (so only the signal can reveal it).
TEST_F(DaemonActions, ReloadsOnChangeAndOnSighup) {
    const auto reader = key_with({"actions:read"})["key"].get<std::string>();
    std::ofstream(m_dir.file("actions/later.yaml"))
        << "name: later\ndescription: d\npermission: p\nrun:\n  command: [/bin/true]\n";
    int status = 0;
    for (int i = 0; i < 500 && status != 200; ++i) {
        status = status_of(m_client->Get("/v1/actions/later", bearer(reader)));
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_EQ(status, 200);

    const auto path = m_dir.file("actions/echo.yaml");
    struct stat before {};
    ASSERT_EQ(::stat(path.c_str(), &before), 0);
    std::ofstream(path) << echo_action("Prints its WORD");  // same size
    const timespec times[2] = {before.st_atim, before.st_mtim};
    ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
    ::kill(m_pbd->process().pid(), SIGHUP);
    std::string description;
    for (int i = 0; i < 500 && description != "Prints its WORD"; ++i) {
        description = body_json(m_client->Get("/v1/actions/echo", bearer(reader)))
                          .value("description", std::string());
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_EQ(description, "Prints its WORD");
    EXPECT_NE(m_pbd->err().find("config.reload (SIGHUP) applied"), std::string::npos);
}

}  // namespace
}  // namespace pb::test
