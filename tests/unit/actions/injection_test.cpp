#include <filesystem>
#include <string>
#include <vector>

#include "tests/unit/actions/action_fixture.hpp"

namespace pb::actions::test {
namespace {

namespace fs = std::filesystem;

// Hostile values given to every parameter type of a command action. Each is
// either refused (invalid_argument, nothing run) or reaches the command as one
// literal argument, as the command itself reports.
class InjectionTest : public ActionTest {
  protected:
    InjectionTest() {
        fs::create_directories(dir.file("root"));
        write_action(
            "echo.yaml",
            R"(name: echo
description: prints what it gets
permission: deploy:run
params:
  s: {type: string}
  i: {type: int}
  n: {type: number}
  b: {type: bool}
  e: {type: enum, values: [red, green]}
  d: {type: duration}
  l: {type: list}
  p: {type: path, roots: [)" +
                dir.file("root") + R"(]}
  kv: {type: string}
  after: {type: string}
  secret: {type: string, secret: true}
run:
  command: [)" + print_argv_script() +
                R"(, "{{s}}", "{{i}}", "{{n}}", "{{b}}", "{{e}}", "{{d}}", "{{l}}", "{{p}}", "--kv={{kv}}", --, "{{after}}"]
  env: {SECRET: "{{secret}}"}
)");
    }

    // The argv the command received when `param` alone is `value` (the other
    // elements are left out, the literal "--" stays), or nullopt
    // when the run was refused as invalid.
    std::optional<std::vector<std::string>> received(const std::string& param, const json& value) {
        try {
            const auto r = run("echo", {{param, value}});
            EXPECT_EQ(r["status"], "succeeded") << r.dump(2);
            const auto out = json::parse(r["stdout"].get<std::string>());
            return out["argv"].get<std::vector<std::string>>();
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::invalid_argument) << e.what();
            return std::nullopt;
        }
    }
};

const std::vector<std::string> k_attacks{"; rm -rf /",
                                         "$(touch MARKER)",
                                         "`touch MARKER`",
                                         "a\nb; touch MARKER",
                                         "--output=/etc/passwd",
                                         "../../etc",
                                         "-rf",
                                         "a' \"b\" | cat > MARKER &"};

// Strings: each attack is one literal element, except those starting with
// "-", which are refused because the placeholder stands at an element's start.
TEST_F(InjectionTest, StringValuesStayOneLiteralArgument) {
    for (const auto& attack : k_attacks) {
        SCOPED_TRACE(attack);
        const auto argv = received("s", attack);
        if (attack.starts_with("-")) {
            EXPECT_FALSE(argv.has_value());
        } else {
            ASSERT_TRUE(argv.has_value());
            EXPECT_EQ(*argv, (std::vector<std::string>{attack, "--"}));
        }
    }
    // No shell ran: nothing created the marker, in the action's folder or here.
    EXPECT_FALSE(fs::exists(actions_dir() + "/MARKER"));
    EXPECT_FALSE(fs::exists("MARKER"));
}

// Typed parameters refuse every attack.
TEST_F(InjectionTest, TypedValuesRefuseAttacks) {
    for (const char* param : {"i", "n", "b", "e", "d"}) {
        for (const auto& attack : k_attacks) {
            SCOPED_TRACE(std::string(param) + " = " + attack);
            EXPECT_FALSE(received(param, attack).has_value());
        }
    }
}

// List items are one element each; an item starting with "-" is refused.
TEST_F(InjectionTest, ListItemsStayOneArgumentEach) {
    const auto argv = received("l", json::array({"; rm -rf /", "$(id)", "a b"}));
    ASSERT_TRUE(argv.has_value());
    EXPECT_EQ(*argv, (std::vector<std::string>{"; rm -rf /", "$(id)", "a b", "--"}));
    EXPECT_FALSE(received("l", json::array({"ok", "--output=/etc/passwd"})).has_value());
}

// Paths: escapes are refused; the rest arrive normalised, under the root, as one element.
TEST_F(InjectionTest, PathValuesStayInsideTheirRoot) {
    const auto root = fs::weakly_canonical(dir.file("root")).string();
    for (const auto& attack : k_attacks) {
        SCOPED_TRACE(attack);
        const auto argv = received("p", attack);
        if (attack == "../../etc") {
            EXPECT_FALSE(argv.has_value());
            continue;
        }
        if (argv) {
            ASSERT_EQ(argv->size(), 2u);  // the value, then the action's literal "--"
            EXPECT_TRUE((*argv)[0].starts_with(root + "/")) << (*argv)[0];
        }
    }
    EXPECT_FALSE(received("p", "/etc/passwd").has_value());
}

// Where the action put the placeholder after "--" or as --name={{x}}, a value
// starting with "-" is a literal, not an option.
TEST_F(InjectionTest, DashValuesPassWhereTheActionAllowsThem) {
    EXPECT_EQ(*received("kv", "--output=/etc/passwd"),
              (std::vector<std::string>{"--kv=--output=/etc/passwd", "--"}));
    EXPECT_EQ(*received("after", "--output=/etc/passwd"),
              (std::vector<std::string>{"--", "--output=/etc/passwd"}));
    EXPECT_EQ(*received("after", "$(id)\n`id`"), (std::vector<std::string>{"--", "$(id)\n`id`"}));
}

// A secret reaches the command but is redacted in the dry run, the audit row
// and the event.
TEST_F(InjectionTest, SecretsAreRedactedEverywhereButInTheCommand) {
    const auto r = run("echo", {{"secret", "hunter2"}, {"s", "plain"}});
    const auto out = json::parse(r["stdout"].get<std::string>());
    EXPECT_EQ(out["env"]["SECRET"], "hunter2");
    const auto dry = run("echo", {{"secret", "hunter2"}}, RunMode::dry_run);
    EXPECT_EQ(dry["env"]["SECRET"], "<redacted>");
    EXPECT_EQ(dry.dump().find("hunter2"), std::string::npos);
    std::string records;
    services().store().transaction(
        [&](store::Connection& c) {
            for (const auto& row : c.query("SELECT args FROM audit_log")) {
                records += row.get_text(0) + "\n";
            }
            for (const auto& row : c.query("SELECT data FROM events")) {
                records += row.get_text(0) + "\n";
            }
        },
        store::TxMode::read);
    EXPECT_NE(records.find("plain"), std::string::npos) << records;
    EXPECT_NE(records.find("<redacted>"), std::string::npos) << records;
    EXPECT_EQ(records.find("hunter2"), std::string::npos) << records;
}

}  // namespace
}  // namespace pb::actions::test
