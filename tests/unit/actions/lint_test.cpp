#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/actions/loader.hpp"
#include "common/runtime/op_table.hpp"
#include "tests/support/temp_dir.hpp"

namespace pb::actions {
namespace {

class LintTest : public ::testing::Test {
  protected:
    // The problems of a file holding `yaml`, checked against the real op table.
    std::vector<Problem> problems(const std::string& yaml, const std::string& name = "a.yaml") {
        const auto path = dir.file(name);
        std::ofstream(path) << yaml;
        return load_file(path, &runtime::op_table()).problems;
    }

    // The one problem of `yaml`, as "line: message".
    std::string only_problem(const std::string& yaml) {
        const auto ps = problems(yaml);
        EXPECT_EQ(ps.size(), 1u) << all(ps);
        return ps.empty() ? std::string() : std::to_string(ps[0].line) + ": " + ps[0].message;
    }

    static std::string all(const std::vector<Problem>& ps) {
        std::string s;
        for (const auto& p : ps) {
            s += p.to_string() + "\n";
        }
        return s;
    }

    pb::test::TempDir dir;
};

const std::string k_head =
    "name: t\n"
    "description: d\n"
    "permission: deploy:write\n";

// The shipped examples are valid and name existing ops and params (drift check).
TEST_F(LintTest, ShippedActionsAreClean) {
    const auto out = lint({std::string(PB_SOURCE_DIR) + "/actions"}, &runtime::op_table());
    EXPECT_TRUE(out["ok"].get<bool>()) << out.dump(2);
    EXPECT_GE(out["files"].size(), 5u);
    for (const auto& row : out["files"]) {
        EXPECT_EQ(row["status"], "ok") << row.dump();
    }
}

// A complete command action with every kind of parameter loads without problems.
TEST_F(LintTest, GoodCommandActionLoads) {
    std::ofstream(dir.file("good.yaml")) << k_head + R"(params:
  s: {type: string, pattern: "[a-z]+", min: 1, max: 10}
  i: {type: int, min: 1, max: 5, default: 2}
  n: {type: number, min: 0.5}
  b: {type: bool, default: false}
  e: {type: enum, values: [red, green]}
  d: {type: duration, min: 1s, max: 1h, default: 5m}
  l: {type: list, max: 3}
  p: {type: path, roots: [/tmp]}
  k: {type: string, secret: true}
run:
  command: [/bin/echo, "{{s}}", "--i={{i}}", "{{l}}", --, "{{p}}"]
  timeout: 10s
  cwd: /tmp
  env: {LANG: C, TOKEN: "{{k}}"}
  inherit_env: [HOME]
  max_output: 1000
)";
    const auto loaded = load_file(dir.file("good.yaml"), &runtime::op_table());
    ASSERT_TRUE(loaded.action.has_value()) << all(loaded.problems);
    EXPECT_EQ(loaded.action->params.size(), 9u);
    EXPECT_EQ(loaded.action->params[1].fallback, 2);
    EXPECT_EQ(loaded.action->params[5].fallback, 300'000);
    EXPECT_EQ(loaded.action->command->timeout_ms, 10'000);
}

// Each kind of schema error is reported on the line it is on.
TEST_F(LintTest, SchemaErrorsNameTheirLine) {
    struct Case {
        std::string yaml;
        std::string expected;  // "line: start of message"
    };
    const std::string run_echo = "run:\n  command: [/bin/echo]\n";
    const std::vector<Case> cases{
        {"description: d\npermission: p\n" + run_echo, "1: action: \"name\" is required"},
        {"name: Bad Name\ndescription: d\npermission: p\n" + run_echo, "1: name: \"Bad Name\""},
        {"name: t\ndescription: d\n" + run_echo, "1: action: \"permission\" is required"},
        {k_head, "1: action: \"run\" is required"},
        {k_head + "colour: blue\n" + run_echo, "4: action: unknown key \"colour\""},
        {k_head + "params:\n  x: {type: colour}\n" + run_echo, "5: params.x: unknown type"},
        {k_head + "params:\n  x: {type: string, bogus: 1}\n" + run_echo,
         "5: params.x: unknown key \"bogus\""},
        {k_head + "params:\n  x: {type: enum}\n" + run_echo, "5: params.x: an enum needs values"},
        {k_head + "params:\n  x: {type: path}\n" + run_echo, "5: params.x: a path needs roots"},
        {k_head + "params:\n  x:\n    type: path\n    roots: [tmp]\n" + run_echo,
         "7: params.x: a root must be an absolute path"},
        {k_head + "params:\n  x:\n    pattern: \"([a-z\"\n" + run_echo,
         "6: params.x: pattern is not a valid regular expression"},
        {k_head + "params:\n  x:\n    type: int\n    min: 5\n    max: 1\n" + run_echo,
         "7: params.x: min is greater than max"},
        {k_head + "params:\n  x:\n    type: bool\n    min: 1\n" + run_echo,
         "7: params.x: min does not apply to bool"},
        {k_head + "params:\n  x:\n    required: true\n    default: a\n" + run_echo,
         "7: params.x: a required parameter has no default"},
        {k_head + "params:\n  x:\n    type: int\n    default: abc\n" + run_echo,
         "7: params.x: bad default"},
        {k_head + "params:\n  Bad-Name: {}\n" + run_echo, "5: params.Bad-Name: a parameter name"},
        {k_head + "run:\n  op: keys.nope\n", "5: run.op: no op \"keys.nope\""},
        {k_head + "run:\n  op: keys.rotate\n  args:\n    id: x\n    colour: red\n",
         "8: run.args: keys.rotate has no parameter \"colour\""},
        {k_head + "run:\n  op: keys.rotate\n", "5: run.args: keys.rotate needs \"id\""},
        {k_head + "run:\n  op: health\n  command: [/bin/true]\n",
         "5: run: give either op: or command:, not both"},
        {k_head + "run:\n  command: []\n", "5: run.command: must be a non-empty list"},
        {k_head + "params:\n  x: {}\nrun:\n  command: [\"{{x}}\"]\n",
         "7: run.command: the program (first element) must be fixed"},
        {k_head + "run:\n  command: [/bin/echo, \"{{nope}}\"]\n",
         "5: {{nope}} names no declared parameter"},
        {k_head + "params:\n  l: {type: list}\nrun:\n  command: [/bin/echo, \"--x={{l}}\"]\n",
         "7: {{l}} is a list"},
        {k_head + "run:\n  command: [/bin/echo, \"{{ x\"]\n", "5: \"{{\" without a closing"},
        {k_head + "run:\n  command: [/bin/echo, \"{{X-1}}\"]\n", "5: {{X-1}} is not a parameter"},
        {k_head + "run:\n  command: [/bin/echo]\n  timeout: soon\n",
         "6: run.timeout: must be a duration"},
        {k_head + "run:\n  command: [/bin/echo]\n  env: {\"1X\": a}\n",
         "6: run.env: \"1X\" is not a variable name"},
        {k_head + "run:\n  command: [/bin/echo]\n  max_output: -5\n",
         "6: run.max_output: must be a positive number"},
        {k_head + "run:\n  op: actions.run\n  args: {name: x}\n",
         "5: run.op: an action cannot run the actions ops"},
        // A WebSocket session's op has no session to run in.
        {k_head + "run:\n  op: join_room\n  args: {room: ops}\n",
         "5: run.op: \"join_room\" is a WebSocket session's op"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.yaml);
        const auto got = only_problem(c.yaml);
        EXPECT_TRUE(got.starts_with(c.expected)) << "got: " << got;
    }
}

// A YAML syntax error is reported with the line yaml-cpp stopped at.
TEST_F(LintTest, SyntaxErrorsHaveLines) {
    auto ps = problems(k_head + "params:\n  x: [unclosed\nrun: {}\n");
    ASSERT_EQ(ps.size(), 1u) << all(ps);
    EXPECT_TRUE(ps[0].message.starts_with("YAML syntax error")) << ps[0].message;
    EXPECT_GE(ps[0].line, 5);

    ps = problems("name: t\ndescription: d\n- a list item in a mapping\n");
    ASSERT_EQ(ps.size(), 1u) << all(ps);
    EXPECT_EQ(ps[0].line, 3) << ps[0].message;

    ps = problems("name: t\ndescription: a: b\n");
    ASSERT_EQ(ps.size(), 1u) << all(ps);
    EXPECT_EQ(ps[0].line, 2) << ps[0].message;
}

// A folder with a broken file: the others load, the broken one is reported
// and skipped, and a second action of the same name is skipped too.
TEST_F(LintTest, BrokenFilesAreSkippedOthersLoad) {
    std::filesystem::create_directories(dir.file("acts"));
    std::ofstream(dir.file("acts/a.yaml")) << k_head << "run:\n  command: [/bin/true]\n";
    std::ofstream(dir.file("acts/b.yml")) << "name: [broken\n";
    std::ofstream(dir.file("acts/c.yaml")) << k_head << "run:\n  command: [/bin/false]\n";
    std::ofstream(dir.file("acts/notes.txt")) << "not an action";
    const auto loaded = load_paths({dir.file("acts")}, &runtime::op_table());
    ASSERT_EQ(loaded.actions.size(), 1u);
    EXPECT_EQ(loaded.actions[0].command->argv[0], "/bin/true");
    ASSERT_EQ(loaded.problems.size(), 2u) << all(loaded.problems);
    EXPECT_NE(loaded.problems[0].file.find("b.yml"), std::string::npos);
    EXPECT_NE(loaded.problems[1].message.find("already declared"), std::string::npos);

    const auto out = lint({dir.file("acts"), dir.file("missing")}, &runtime::op_table());
    EXPECT_FALSE(out["ok"].get<bool>());
    EXPECT_EQ(out["files"].size(), 4u) << out.dump(2);  // a ok, b, c, missing
}

}  // namespace
}  // namespace pb::actions
