#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "tests/support/process.hpp"
#include "tests/unit/actions/action_fixture.hpp"

namespace pb::actions::test {
namespace {

namespace fs = std::filesystem;

// True once `pid` no longer runs (gone, or a zombie nobody reaped yet);
// waits at most 10 s.
bool ends_soon(const std::string& pid) {
    for (int i = 0; i < 1000; ++i) {
        const auto stat = pb::test::read_file("/proc/" + pid + "/stat");
        const auto close = stat.rfind(')');
        if (stat.empty() || (close != std::string::npos && stat.substr(close + 2, 1) == "Z")) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
}

std::string read_pid(const std::string& path) {
    for (int i = 0; i < 500; ++i) {
        auto text = pb::test::read_file(path);
        if (!text.empty() && text.back() == '\n') {
            text.pop_back();
            return text;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return {};
}

std::string command_action(const std::string& name, const std::string& argv,
                           const std::string& extra = "") {
    return "name: " + name + "\ndescription: d\npermission: deploy:run\nrun:\n  command: " + argv +
           "\n" + extra;
}

// A command that outlives its timeout is stopped with its whole process group:
// the grandchild it started in the background ends too.
TEST_F(ActionTest, TimeoutKillsTheProcessTree) {
    const auto pidfile = dir.file("grandchild.pid");
    std::ofstream(dir.file("tree.sh")) << "sleep 30 &\necho $! > " << pidfile << "\nsleep 30\n";
    write_action("tree.yaml", command_action("tree", "[/bin/sh, " + dir.file("tree.sh") + "]",
                                             "  timeout: 300ms\n"));
    const auto r = run("tree", json::object());
    EXPECT_EQ(r["status"], "timed_out") << r.dump(2);
    EXPECT_FALSE(r["ok"].get<bool>());
    const auto pid = read_pid(pidfile);
    ASSERT_FALSE(pid.empty());
    EXPECT_TRUE(ends_soon(pid)) << "grandchild " << pid << " still runs";
}

// A command that ignores SIGTERM gets SIGKILL after actions.kill_grace.
TEST_F(ActionTest, TimeoutEscalatesToSigkill) {
    kill_grace = "200ms";
    const auto pidfile = dir.file("stubborn.pid");
    std::ofstream(dir.file("stubborn.sh"))
        << "trap '' TERM\nsleep 30 &\necho $! > " << pidfile << "\nwait\nwait\n";
    write_action("stubborn.yaml",
                 command_action("stubborn", "[/bin/sh, " + dir.file("stubborn.sh") + "]",
                                "  timeout: 200ms\n"));
    const auto r = run("stubborn", json::object());
    EXPECT_EQ(r["status"], "timed_out") << r.dump(2);
    EXPECT_EQ(r["signal"], SIGKILL) << r.dump(2);
    const auto pid = read_pid(pidfile);
    ASSERT_FALSE(pid.empty());
    EXPECT_TRUE(ends_soon(pid));
}

// Output beyond max_output is dropped and the result says so; the command
// still runs to its end (it is not blocked on a full pipe).
TEST_F(ActionTest, OutputOverTheCapIsTruncated) {
    write_action("big.yaml", command_action("big", "[/usr/bin/head, -c, 300000, /dev/zero]",
                                            "  max_output: 1000\n"));
    const auto r = run("big", json::object());
    EXPECT_EQ(r["status"], "succeeded") << r.dump();
    EXPECT_EQ(r["stdout"].get<std::string>().size(), 1000u);
    EXPECT_TRUE(r["truncated"].get<bool>());

    write_action("small.yaml", command_action("small", "[/bin/echo, hi]"));
    const auto s = run("small", json::object());
    EXPECT_EQ(s["stdout"], "hi\n");
    EXPECT_FALSE(s["truncated"].get<bool>());
}

// A failing command is a result, with its exit code and stderr; not an error.
TEST_F(ActionTest, FailedCommandIsAResult) {
    write_action("fail.yaml", command_action("fail", "[/bin/sh, -c, \"echo oops >&2; exit 3\"]"));
    const auto r = run("fail", json::object());
    EXPECT_EQ(r["status"], "failed");
    EXPECT_EQ(r["exit_code"], 3);
    EXPECT_EQ(r["stderr"], "oops\n");
    EXPECT_GE(r["duration_ms"].get<std::int64_t>(), 0);
}

// A missing program is a clear error naming it, whether a path or a PATH lookup.
TEST_F(ActionTest, MissingExecutableIsAClearError) {
    write_action("gone.yaml", command_action("gone", "[/nonexistent/prog]"));
    write_action("nopath.yaml", command_action("nopath", "[no-such-program-pb]"));
    for (const char* name : {"gone", "nopath"}) {
        try {
            run(name, json::object());
            ADD_FAILURE() << "ran " << name;
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::unavailable);
            EXPECT_NE(std::string(e.what()).find("not found"), std::string::npos) << e.what();
        }
    }
}

// The command sees PATH, the env the action sets and the names it inherits,
// nothing else of pb's environment; its working directory is the action's folder.
TEST_F(ActionTest, EnvironmentDoesNotLeak) {
    ::setenv("PB_LEAK_TEST", "leaked-secret", 1);
    ::setenv("PB_INHERIT_TEST", "wanted", 1);
    write_action("env.yaml",
                 command_action("env", "[" + print_argv_script() + "]",
                                "  env: {FOO: bar}\n  inherit_env: [PB_INHERIT_TEST]\n"));
    const auto r = run("env", json::object());
    ::unsetenv("PB_LEAK_TEST");
    ::unsetenv("PB_INHERIT_TEST");
    ASSERT_EQ(r["status"], "succeeded") << r.dump(2);
    const auto got = json::parse(r["stdout"].get<std::string>());
    EXPECT_FALSE(got["env"].contains("PB_LEAK_TEST"));
    EXPECT_EQ(got["env"]["FOO"], "bar");
    EXPECT_EQ(got["env"]["PB_INHERIT_TEST"], "wanted");
    EXPECT_TRUE(got["env"].contains("PATH"));
    for (const auto& [k, v] : got["env"].items()) {
        // Python adds LC_CTYPE itself when the locale is C (PEP 538).
        EXPECT_TRUE(k == "PATH" || k == "FOO" || k == "PB_INHERIT_TEST" || k == "LC_CTYPE") << k;
    }
    EXPECT_EQ(fs::path(got["cwd"].get<std::string>()), fs::canonical(actions_dir()));
}

// The action's own permission decides; a refusal is audited.
TEST_F(ActionTest, ActionPermissionIsChecked) {
    write_action("p.yaml", command_action("p", "[/bin/true]"));
    const ops::Caller reader{"key:r", {"actions:read"}};
    const ops::Caller runner{"key:w", {"actions:read", "deploy:run"}};
    EXPECT_EQ(error_code_of([&] { run("p", json::object(), RunMode::run, reader); }),
              ErrorCode::permission_denied);
    EXPECT_EQ(run("p", json::object(), RunMode::run, runner)["status"], "succeeded");
    std::string outcomes;
    services().store().transaction(
        [&](store::Connection& c) {
            for (const auto& row : c.query("SELECT actor, outcome FROM audit_log ORDER BY id")) {
                outcomes += row.get_text(0) + "=" + row.get_text(1) + ";";
            }
        },
        store::TxMode::read);
    EXPECT_EQ(outcomes, "key:r=permission_denied;key:w=succeeded;");
}

// A dry run validates and shows the argv but starts nothing.
TEST_F(ActionTest, DryRunRunsNothing) {
    const auto marker = dir.file("ran");
    write_action("touch.yaml", command_action("touch", "[/usr/bin/touch, " + marker + "]"));
    const auto r = run("touch", json::object(), RunMode::dry_run);
    EXPECT_TRUE(r["dry_run"].get<bool>());
    EXPECT_EQ(r["argv"], json::array({"/usr/bin/touch", marker}));
    EXPECT_FALSE(fs::exists(marker));
    EXPECT_EQ(run("touch", json::object())["status"], "succeeded");
    EXPECT_TRUE(fs::exists(marker));
}

// Runs beyond actions.max_concurrent are refused while the others run.
TEST_F(ActionTest, ConcurrentRunsAreBounded) {
    max_concurrent = "1";
    const auto started = dir.file("started");
    const auto release = dir.file("release");
    std::ofstream(dir.file("wait.sh"))
        << "touch " << started << "\ni=0\nwhile [ ! -e " << release
        << " ] && [ $i -lt 1000 ]; do sleep 0.01; i=$((i+1)); done\n";
    write_action("wait.yaml", command_action("wait", "[/bin/sh, " + dir.file("wait.sh") + "]"));
    services();
    json first;
    std::thread t([&] { first = run("wait", json::object()); });
    for (int i = 0; i < 1000 && !fs::exists(started); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_EQ(error_code_of([&] { run("wait", json::object()); }), ErrorCode::unavailable);
    std::ofstream(release) << "";
    t.join();
    EXPECT_EQ(first["status"], "succeeded");
    EXPECT_EQ(run("wait", json::object())["status"], "succeeded");
}

// An op action dispatches its op with typed args from its parameters.
TEST_F(ActionTest, OpActionDispatchesTheOp) {
    write_action("report.yaml", R"(name: report
description: d
permission: admin
params:
  since: {type: duration, default: 1d}
run:
  op: audit.list
  args: {since: "{{since}}", limit: 5}
)");
    write_action("p.yaml", command_action("p", "[/bin/true]"));
    run("p", json::object());
    const auto r = run("report", {{"since", "2h"}});
    EXPECT_EQ(r["status"], "succeeded") << r.dump(2);
    EXPECT_EQ(r["result"]["entries"].size(), 1u) << r.dump(2);
    const auto dry = run("report", json::object(), RunMode::dry_run);
    EXPECT_EQ(dry["args"], (json{{"since", 86'400'000}, {"limit", "5"}}));
}

// Editing, adding or removing a file is noticed by reload_if_changed().
TEST_F(ActionTest, ChangedFilesAreReloaded) {
    write_action("a.yaml", command_action("a", "[/bin/true]"));
    auto& catalog = services().actions();
    EXPECT_FALSE(catalog.reload_if_changed());
    // Written behind the catalog's back (write_action() would reload at once).
    std::ofstream(actions_dir() + "/b.yaml") << command_action("b", "[/bin/true]");
    EXPECT_TRUE(catalog.reload_if_changed());
    EXPECT_NO_THROW(catalog.find("b"));
    fs::remove(actions_dir() + "/a.yaml");
    EXPECT_TRUE(catalog.reload_if_changed());
    EXPECT_EQ(error_code_of([&] { catalog.find("a"); }), ErrorCode::not_found);
}

}  // namespace
}  // namespace pb::actions::test
