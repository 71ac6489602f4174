#include <filesystem>
#include <fstream>
#include <string>

#include "tests/cli/cli_fixture.hpp"

namespace pb::cli::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string k_print_argv =
    std::string(PB_SOURCE_DIR) + "/tests/unit/actions/scripts/print_argv.py";

// pbctl with PB_ACTIONS_PATHS naming a temp folder of actions: one that prints
// its argv, one that fails with exit 3, one backing up the database into a
// temp root with the db.backup op.
class ActionsCliTest : public PbctlTest {
  protected:
    ActionsCliTest() {
        fs::create_directories(dir.file("actions"));
        fs::create_directories(dir.file("backups"));
        env["PB_ACTIONS_PATHS"] = dir.file("actions");
        write("echo.yaml", R"(name: echo
description: Prints its arguments
permission: deploy:run
params:
  word: {type: string, required: true, help: A word}
  count: {type: int, default: 1, min: 1, max: 3}
  tags: {type: list}
  token: {type: string, secret: true}
run:
  command: [)" + k_print_argv + R"(, "{{word}}", "--count={{count}}", "{{tags}}"]
  env: {TOKEN: "{{token}}"}
)");
        write("fail.yaml", R"(name: fail
description: Fails
permission: deploy:run
run:
  command: [/bin/sh, -c, "echo broken >&2; exit 3"]
)");
        write("backup.yaml", R"(name: backup
description: Backs up the database
permission: admin
params:
  target: {type: path, required: true, roots: [)" +
                                 dir.file("backups") + R"(]}
run:
  op: db.backup
  args: {target: "{{target}}"}
)");
    }

    void write(const std::string& name, const std::string& yaml) {
        std::ofstream(dir.file("actions/" + name)) << yaml;
    }
};

// list shows every action with its permission and file; show its parameters.
TEST_F(ActionsCliTest, ListAndShow) {
    const auto table = ok({"actions", "list"});
    EXPECT_NE(table.find("echo"), std::string::npos);
    EXPECT_NE(table.find("deploy:run"), std::string::npos);
    const auto list = ok_json({"actions", "list"});
    ASSERT_EQ(list["actions"].size(), 3u) << list.dump(2);
    EXPECT_EQ(list["actions"][0]["name"], "backup");
    const auto show = ok_json({"actions", "show", "echo"});
    EXPECT_EQ(show["params"][1]["name"], "count");
    EXPECT_EQ(show["params"][1]["default"], 1);
    EXPECT_EQ(show["params"][1]["type"], "int");
    EXPECT_EQ(show["run"]["command"][0], k_print_argv);
    EXPECT_EQ(pbctl({"actions", "show", "nope"}).exit_code, 4);
}

// --arg and --args-json reach the command as one argv element per value.
TEST_F(ActionsCliTest, RunPassesArguments) {
    auto r = ok_json({"actions", "run", "echo", "--arg", "word=$(id); rm -rf /", "--arg",
                      "tags=a b", "--arg", "tags=c"});
    EXPECT_EQ(r["status"], "succeeded") << r.dump(2);
    EXPECT_EQ(r["exit_code"], 0);
    auto got = json::parse(r["stdout"].get<std::string>());
    EXPECT_EQ(got["argv"], json::array({"$(id); rm -rf /", "--count=1", "a b", "c"}));

    r = ok_json({"actions", "run", "echo", "--args-json", R"({"word":"w","count":3})"});
    got = json::parse(r["stdout"].get<std::string>());
    EXPECT_EQ(got["argv"], json::array({"w", "--count=3"}));
    // -q prints the command's own output.
    EXPECT_EQ(ok({"actions", "run", "echo", "--arg", "word=x", "-q"}).find("\"argv\""), 1u);
}

// Bad arguments exit 2 and run nothing; a value that would be an option is refused.
TEST_F(ActionsCliTest, BadArgumentsExit2) {
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"--arg", "word=x", "--arg", "colour=red"},
             {"--arg", "word=x", "--arg", "count=9"},
             {"--arg", "count=2"},
             {"--arg", "word=--output=/etc/passwd"},
             {"--arg", "noequals"},
             {"--args-json", "[1]"},
         }) {
        std::vector<std::string> argv{"actions", "run", "echo"};
        argv.insert(argv.end(), args.begin(), args.end());
        const auto r = pbctl(argv);
        EXPECT_EQ(r.exit_code, 2) << describe(argv, r);
    }
}

// --dry-run shows the argv with secrets redacted and runs nothing.
TEST_F(ActionsCliTest, DryRun) {
    const auto r = ok_json(
        {"actions", "run", "echo", "--arg", "word=hi", "--arg", "token=hunter2", "--dry-run"});
    EXPECT_TRUE(r["dry_run"].get<bool>());
    EXPECT_EQ(r["argv"], json::array({k_print_argv, "hi", "--count=1"}));
    EXPECT_EQ(r["env"]["TOKEN"], "<redacted>");
    EXPECT_EQ(r.dump().find("hunter2"), std::string::npos);
}

// A failed command exits 1 with its result printed; --exit-status passes its
// own code through.
TEST_F(ActionsCliTest, FailedCommandExitCodes) {
    auto r = pbctl({"actions", "run", "fail", "-o", "json"});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    const auto result = json::parse(r.out);
    EXPECT_EQ(result["status"], "failed");
    EXPECT_EQ(result["stderr"], "broken\n");
    EXPECT_NE(r.err.find("failed"), std::string::npos) << r.err;
    r = pbctl({"actions", "run", "fail", "--exit-status"});
    EXPECT_EQ(r.exit_code, 3) << r.err;
    r = pbctl({"actions", "run", "echo", "--arg", "word=x", "--exit-status"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
}

// The backup action makes a real, consistent copy pbctl can open.
TEST_F(ActionsCliTest, BackupActionCopiesTheDatabase) {
    const auto key = create_key();
    const auto r = ok_json({"actions", "run", "backup", "--arg", "target=copy.db"});
    EXPECT_EQ(r["status"], "succeeded") << r.dump(2);
    const auto copy = fs::weakly_canonical(dir.file("backups/copy.db")).string();
    EXPECT_EQ(r["result"]["target"], copy);
    // As private as the database it copies (pbctl refuses anything else).
    EXPECT_EQ(fs::status(copy).permissions() & fs::perms::others_all, fs::perms::none);
    const auto keys = ok_json({"--db", copy, "keys", "list"});
    ASSERT_EQ(keys["keys"].size(), 1u);
    EXPECT_EQ(keys["keys"][0]["id"], id_of(key));
    // Not over an existing file, and not outside the root.
    EXPECT_EQ(pbctl({"actions", "run", "backup", "--arg", "target=copy.db"}).exit_code, 5);
    EXPECT_EQ(pbctl({"actions", "run", "backup", "--arg", "target=../escape.db"}).exit_code, 2);
    EXPECT_FALSE(fs::exists(dir.file("escape.db")));
}

// lint: clean files exit 0; any problem exits 2 and names file:line.
TEST_F(ActionsCliTest, Lint) {
    ok({"actions", "lint", dir.file("actions"), std::string(PB_SOURCE_DIR) + "/actions"});
    fs::create_directories(dir.file("bad"));
    std::ofstream(dir.file("bad/x.yaml")) << "name: x\ndescription: d\npermission: p\nrun:\n"
                                             "  command: [/bin/echo, \"{{missing}}\"]\n";
    std::ofstream(dir.file("bad/y.yaml")) << "name: [oops\n";
    const auto r = pbctl({"actions", "lint", dir.file("bad")});
    EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
    EXPECT_NE(r.out.find(dir.file("bad/x.yaml") + ":5"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("y.yaml:"), std::string::npos) << r.out;
    EXPECT_EQ(pbctl({"actions", "lint", dir.file("nothing-here")}).exit_code, 2);
}

}  // namespace
}  // namespace pb::cli::test
