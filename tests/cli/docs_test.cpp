// The generated documentation: the committed completions and man pages are what
// the programs generate now, the man pages render without a groff warning, and
// the completion scripts load and complete in bash, zsh and fish.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/docs/man_page.hpp"
#include "common/runtime/op_table.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using pb::test::run;

std::string source_file(const std::string& relative) {
    return pb::test::read_file(std::string(PB_SOURCE_DIR) + "/" + relative);
}

std::string generated(const std::vector<std::string>& argv) {
    const auto r = run(argv, {});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
}

struct Artifact {
    std::string file;
    std::vector<std::string> argv;
};

std::vector<Artifact> artifacts() {
    const auto pbctl = pb::test::pbctl_path();
    return {
        {"completions/pbctl.bash", {pbctl, "completion", "bash"}},
        {"completions/_pbctl", {pbctl, "completion", "zsh"}},
        {"completions/pbctl.fish", {pbctl, "completion", "fish"}},
        {"man/pbctl.1", {pbctl, "__man", "pbctl.1"}},
        {"man/pb.yaml.5", {pbctl, "__man", "pb.yaml.5"}},
        {"man/pbd.8", {pb::test::pbd_path(), "--man"}},
    };
}

TEST(GeneratedDocs, CommittedCopiesAreCurrent) {
    for (const auto& a : artifacts()) {
        EXPECT_TRUE(source_file(a.file) == generated(a.argv))
            << a.file << " is stale: run `make docs` and commit the result";
    }
}

TEST(GeneratedDocs, ManPagesRenderWithoutGroffWarnings) {
    for (const std::string page : {"man/pbctl.1", "man/pbd.8", "man/pb.yaml.5"}) {
        const auto r = run(
            {"/usr/bin/groff", "-man", "-Tutf8", "-ww", std::string(PB_SOURCE_DIR) + "/" + page},
            {});
        EXPECT_EQ(r.exit_code, 0) << page;
        EXPECT_EQ(r.err, "") << page;
        EXPECT_GT(r.out.size(), 1000u) << page;
    }
}

TEST(GeneratedDocs, ManPagesCoverEveryCommandAndSetting) {
    const auto pbctl = source_file("man/pbctl.1");
    for (const std::string command :
         {"keys create", "tokens keys rotate", "states transition", "bans add", "vault put",
          "actions run", "db migrate", "config explain"}) {
        std::string roff = command;
        EXPECT_NE(pbctl.find(".SS \\fBpbctl " + roff), std::string::npos) << command;
    }
    const auto yaml = source_file("man/pb.yaml.5");
    for (const std::string key : {"db.url", "tokens.hmac_secret", "limits.ip.rate",
                                  "secrets.vault.address", "actions.paths"}) {
        EXPECT_NE(yaml.find("\\fB" + key + "\\fR"), std::string::npos) << key;
    }
    EXPECT_NE(source_file("man/pbd.8").find("/v1/keys/verify"), std::string::npos);
}

// One completion request per case: the words typed so far (the last one is
// being completed) and a candidate that must be offered.
struct Case {
    std::vector<std::string> words;
    std::string expected;
    std::string absent;  // a candidate that must not be offered ("" for none)
};

const std::vector<Case> k_cases{
    {{"pbctl", "ke"}, "keys", "tokens"},
    {{"pbctl", "tokens", "keys", ""}, "rotate", "issue"},
    {{"pbctl", "tokens", "issue", "--alg", "E"}, "ES256", "HS256"},
    {{"pbctl", "-o", "json", "states", "re"}, "register", "keys"},
    {{"pbctl", "states", "register", "s1", "--type", "se"}, "session", "user"},
    {{"pbctl", "states", "transition", "s1", "su"}, "suspend", "resume"},
    {{"pbctl", "keys", "create", "--o"}, "--owner", "--alg"},
    {{"pbctl", "completion", "z"}, "zsh", "bash"},
};

std::string quoted_words(const std::vector<std::string>& words, const char* sep) {
    std::string out;
    for (const auto& w : words) {
        out += std::string(out.empty() ? "" : sep) + "'" + w + "'";
    }
    return out;
}

void expect_offered(const std::string& shell, const Case& c, const pb::test::RunResult& r) {
    const std::string offered = "\n" + r.out;
    EXPECT_EQ(r.exit_code, 0) << shell << ": " << r.err;
    EXPECT_NE(offered.find("\n" + c.expected + "\n"), std::string::npos)
        << shell << " did not offer " << c.expected << " for " << quoted_words(c.words, " ")
        << "; offered:" << r.out;
    if (!c.absent.empty()) {
        EXPECT_EQ(offered.find("\n" + c.absent + "\n"), std::string::npos)
            << shell << " offered " << c.absent;
    }
}

TEST(Completion, BashCompletesGroupsVerbsFlagsAndValues) {
    const auto script = std::string(PB_SOURCE_DIR) + "/completions/pbctl.bash";
    for (const auto& c : k_cases) {
        const std::string body = "source '" + script + "'; COMP_WORDS=(" +
                                 quoted_words(c.words, " ") +
                                 "); COMP_CWORD=" + std::to_string(c.words.size() - 1) +
                                 "; _pbctl; printf '%s\\n' \"${COMPREPLY[@]}\"";
        expect_offered("bash", c, run({"/bin/bash", "--norc", "-c", body}, {}));
    }
}

TEST(Completion, ZshCompletesGroupsVerbsFlagsAndValues) {
    // compadd and _files exist only inside zsh's completion system: stand-ins
    // print what the function offers, matched against the word being completed
    // as compadd does.
    const auto script = std::string(PB_SOURCE_DIR) + "/completions/_pbctl";
    for (const auto& c : k_cases) {
        const std::string body =
            "compadd() { [[ $1 == -- ]] && shift; local w; for w in \"$@\"; do "
            "[[ $w == ${words[CURRENT]}* ]] && print -- $w; done; true; }; _files() { :; }; "
            "source '" +
            script + "'; words=(" + quoted_words(c.words, " ") +
            "); CURRENT=" + std::to_string(c.words.size()) + "; _pbctl";
        expect_offered("zsh", c, run({"/usr/bin/zsh", "-f", "-c", body}, {}));
    }
}

TEST(Completion, FishCompletesGroupsVerbsFlagsAndValues) {
    const auto script = std::string(PB_SOURCE_DIR) + "/completions/pbctl.fish";
    pb::test::TempDir home;
    for (const auto& c : k_cases) {
        std::string line;
        for (const auto& w : c.words) {
            line += (line.empty() ? "" : " ") + w;
        }
        const std::string body = "source '" + script + "'; complete -C '" + line + "'";
        auto r = run({"/usr/bin/fish", "--no-config", "-c", body},
                     {{"HOME", home.path().string()},
                      {"XDG_CONFIG_HOME", home.file("config")},
                      {"XDG_DATA_HOME", home.file("data")}});
        // fish prints "candidate<TAB>description": keep the candidate.
        std::string plain;
        for (std::size_t start = 0; start < r.out.size();) {
            auto end = r.out.find('\n', start);
            end = end == std::string::npos ? r.out.size() : end;
            const auto line_text = r.out.substr(start, end - start);
            plain += line_text.substr(0, line_text.find('\t')) + "\n";
            start = end + 1;
        }
        r.out = plain;
        expect_offered("fish", c, r);
    }
}

}  // namespace

namespace {

// State ids and action names are completed from the local database and the
// configured actions, by `pbctl __complete`; nothing when there is no database.
TEST(Completion, LiveStateIdsAndActionNamesInEveryShell) {
    pb::test::TempDir dir;
    const std::string bin = std::string(PB_BIN_DIR);
    std::map<std::string, std::string> env{
        {"PB_DB", dir.file("pb.db")},
        {"PB_ACTIONS_PATHS", std::string(PB_SOURCE_DIR) + "/actions"},
        {"PATH", bin + ":/usr/bin:/bin"},
        {"HOME", dir.path().string()},
        {"XDG_CONFIG_HOME", dir.file("config")},
        {"XDG_DATA_HOME", dir.file("data")}};
    const auto bash = [&](const std::string& words, int cword) {
        return run({"/bin/bash", "--norc", "-c",
                    "source '" + std::string(PB_SOURCE_DIR) +
                        "/completions/pbctl.bash'; COMP_WORDS=(" + words + "); COMP_CWORD=" +
                        std::to_string(cword) + "; _pbctl; printf '%s\\n' \"${COMPREPLY[@]}\""},
                   env)
            .out;
    };
    EXPECT_EQ(bash("pbctl states get ''", 3), "\n") << "no database: nothing";
    EXPECT_FALSE(std::filesystem::exists(dir.file("pb.db"))) << "completion created a database";
    for (const std::string id : {"sess_a", "sess_b", "other"}) {
        ASSERT_EQ(run({pb::test::pbctl_path(), "states", "register", id, "--type", "session"}, env)
                      .exit_code,
                  0);
    }
    EXPECT_EQ(bash("pbctl states get se", 3), "sess_a\nsess_b\n");
    EXPECT_NE(bash("pbctl actions run ''", 3).find("backup-db\n"), std::string::npos);
    const auto fish = run({"/usr/bin/fish", "--no-config", "-c",
                           "source '" + std::string(PB_SOURCE_DIR) +
                               "/completions/pbctl.fish'; complete -C 'pbctl states delete o'"},
                          env);
    EXPECT_EQ(fish.out, "other\n");
    const auto zsh = run({"/usr/bin/zsh", "-f", "-c",
                          "compadd() { [[ $1 == -- ]] && shift; print -l -- \"$@\"; }; source '" +
                              std::string(PB_SOURCE_DIR) +
                              "/completions/_pbctl'; words=(pbctl actions show ''); CURRENT=4; "
                              "_pbctl"},
                         env);
    EXPECT_NE(zsh.out.find("rotate-key\n"), std::string::npos) << zsh.out;
}

}  // namespace

namespace {

// The subcommands the bash script offers after `pbctl <path>`, as " a b c ".
std::string commands_of(const std::string& script, const std::string& path) {
    const auto entry = script.find("\"" + path + "\")");
    if (entry == std::string::npos) {
        return {};
    }
    const auto start = script.find("commands=\"", entry) + 10;
    return " " + script.substr(start, script.find('"', start) - start) + " ";
}

// Every op of the table has its section in pbctl(1) and its command in each
// completion script: the table is read, not a list kept by hand.
TEST(GeneratedDocs, EveryOpIsInTheManPageAndTheCompletions) {
    const auto man = source_file("man/pbctl.1");
    const auto bash = source_file("completions/pbctl.bash");
    const auto zsh = source_file("completions/_pbctl");
    const auto fish = source_file("completions/pbctl.fish");
    std::size_t ops = 0;
    for (const auto& op : pb::runtime::op_table().all()) {
        if (op.websocket_only()) {
            continue;  // no pbctl command (WsOpsTable checks it has none)
        }
        std::string words;
        for (char c : op.cli_path()) {
            words += c == '.' ? ' ' : c;
        }
        const auto verb = words.substr(words.rfind(' ') + 1);
        const auto parent = words.find(' ') == std::string::npos
                                ? std::string()
                                : words.substr(0, words.rfind(' '));
        EXPECT_NE(man.find(".SS \\fBpbctl " + pb::docs::roff(words) + "\\fR"), std::string::npos)
            << op.name << " is not in pbctl(1)";
        // The command's own entry, and its name among its parent's commands.
        EXPECT_NE(bash.find("\"" + words + "\")"), std::string::npos) << op.name << " (bash)";
        EXPECT_NE(zsh.find("\"" + words + "\")"), std::string::npos) << op.name << " (zsh)";
        EXPECT_NE(fish.find("case '" + words + "'"), std::string::npos) << op.name << " (fish)";
        EXPECT_NE(commands_of(bash, parent).find(" " + verb + " "), std::string::npos)
            << op.name << " is not offered after \"pbctl " << parent << "\"";
        ++ops;
    }
    EXPECT_GT(ops, 50u);
}

}  // namespace
