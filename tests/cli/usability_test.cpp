// What a person meets first: pbctl alone gives an overview, a misspelled
// command gets the nearest one suggested, --version says what was built, and
// colors appear on a terminal only, never with NO_COLOR.
#include <string>

#include <gtest/gtest.h>

#include "tests/cli/cli_fixture.hpp"

namespace pb::cli::test {
namespace {

class UsabilityTest : public PbctlTest {
  protected:
    // pbctl on a pseudo-terminal (script(1)), so isatty() is true for it.
    pb::test::RunResult on_terminal(const std::string& args, bool no_color = false) {
        auto e = env;
        e["TERM"] = "xterm";
        if (no_color) {
            e["NO_COLOR"] = "1";
        }
        return pb::test::run(
            {"/usr/bin/script", "-qec", pb::test::pbctl_path() + " " + args, "/dev/null"}, e);
    }
};

TEST_F(UsabilityTest, NoArgumentsShowsAShortOverview) {
    const auto r = pbctl({});
    EXPECT_EQ(r.exit_code, 0);
    for (const std::string word :
         {"Usage: pbctl", "keys", "tokens", "states", "vault", "actions", "man pbctl"}) {
        EXPECT_NE(r.out.find(word), std::string::npos) << word << "\n" << r.out;
    }
    EXPECT_LT(std::count(r.out.begin(), r.out.end(), '\n'), 40) << "an overview fits a screen";
}

TEST_F(UsabilityTest, AMisspelledCommandSuggestsTheNearestOne) {
    const struct {
        std::vector<std::string> args;
        std::string hint;
    } cases[] = {
        {{"kees", "list"}, "did you mean \"keys\"?"},
        {{"keys", "lsit"}, "did you mean \"list\"?"},
        {{"tokens", "keys", "rotat"}, "did you mean \"rotate\"?"},
        {{"stats", "get", "x"}, "did you mean \"states\"?"},
    };
    for (const auto& c : cases) {
        const auto r = pbctl(c.args);
        EXPECT_EQ(r.exit_code, 2) << describe(c.args, r);
        EXPECT_NE(r.err.find(c.hint), std::string::npos) << describe(c.args, r);
    }
    // Nothing near: no guess.
    const auto far = pbctl({"zzzzzzzz"});
    EXPECT_EQ(far.exit_code, 2);
    EXPECT_EQ(far.err.find("did you mean"), std::string::npos) << far.err;
}

TEST_F(UsabilityTest, VersionReportsTheBuild) {
    const auto r = pbctl({"--version"});
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.out.rfind("pbctl 0.1.0 (commit ", 0), 0u) << r.out;
    EXPECT_NE(r.out.find("GNU"), std::string::npos) << r.out;
    const auto j = ok_json({"version"});
    EXPECT_EQ(j["version"], "0.1.0");
    EXPECT_TRUE(j.contains("commit") && j.contains("compiler") && j.contains("build_type")) << j;
}

TEST_F(UsabilityTest, ColorsOnlyOnATerminalAndNeverWithNoColor) {
    create_key();
    const std::string esc = "\033[";
    EXPECT_EQ(pbctl({"keys", "list"}).out.find(esc), std::string::npos) << "piped: plain";
    const auto tty = on_terminal("keys list");
    EXPECT_EQ(tty.exit_code, 0) << tty.err;
    EXPECT_NE(tty.out.find(esc + "1mID"), std::string::npos) << tty.out;
    const auto no_color = on_terminal("keys list", true);
    EXPECT_EQ(no_color.exit_code, 0);
    EXPECT_NE(no_color.out.find("ID"), std::string::npos) << no_color.out;
    EXPECT_EQ(no_color.out.find(esc), std::string::npos) << no_color.out;
    // Errors: red "pbctl:" on a terminal, plain otherwise.
    EXPECT_NE(on_terminal("keys get nosuchkey00000").out.find(esc + "31mpbctl:"),
              std::string::npos);
    EXPECT_EQ(pbctl({"keys", "get", "nosuchkey00000"}).err.find(esc), std::string::npos);
}

}  // namespace
}  // namespace pb::cli::test
