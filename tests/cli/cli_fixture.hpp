#pragma once

#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace pb::cli::test {

// Runs the real pbctl against a database in a fresh temp dir. The environment
// is only what the test sets: PB_DB, an empty PB_CONFIG and a HOME inside the
// temp dir, so no file outside it is read or written.
class PbctlTest : public ::testing::Test {
  protected:
    PbctlTest() {
        std::ofstream(dir.file("pb.yaml")) << "";
        env = {{"PB_DB", db_path()},
               {"PB_CONFIG", dir.file("pb.yaml")},
               {"HOME", dir.path().string()},
               {"XDG_DATA_HOME", dir.file("data")}};
    }

    std::string db_path() const { return dir.file("pb.db"); }

    // pbctl with `args`, `stdin_text` on its standard input.
    pb::test::RunResult pbctl(const std::vector<std::string>& args,
                              const std::string& stdin_text = "") {
        std::vector<std::string> argv{pb::test::pbctl_path()};
        argv.insert(argv.end(), args.begin(), args.end());
        return pb::test::run(argv, env, stdin_text);
    }

    // pbctl that must succeed; returns its stdout.
    std::string ok(const std::vector<std::string>& args, const std::string& stdin_text = "") {
        const auto r = pbctl(args, stdin_text);
        EXPECT_EQ(r.exit_code, 0) << describe(args, r);
        return r.out;
    }

    // pbctl -o json that must succeed; returns the parsed stdout.
    nlohmann::json ok_json(std::vector<std::string> args) {
        args.insert(args.end(), {"-o", "json"});
        const auto out = ok(args);
        auto j = nlohmann::json::parse(out, nullptr, false);
        EXPECT_FALSE(j.is_discarded()) << "not JSON: " << out;
        return j;
    }

    // A new key's text, printed by -q (newline stripped).
    std::string create_key(const std::vector<std::string>& extra = {}) {
        std::vector<std::string> args{"keys", "create", "--owner", "ci-bot", "-q"};
        args.insert(args.end(), extra.begin(), extra.end());
        auto key = ok(args);
        EXPECT_TRUE(!key.empty() && key.back() == '\n') << key;
        if (!key.empty() && key.back() == '\n') {
            key.pop_back();
        }
        return key;
    }

    // The id part of a key text (pb_<id>_…).
    static std::string id_of(const std::string& key) { return key.substr(3, 12); }

    static std::string describe(const std::vector<std::string>& args,
                                const pb::test::RunResult& r) {
        std::string cmd = "pbctl";
        for (const auto& a : args) {
            cmd += " " + a;
        }
        return cmd + "\nexit " + std::to_string(r.exit_code) + "\nstdout:\n" + r.out +
               "\nstderr:\n" + r.err;
    }

    pb::test::TempDir dir;
    std::map<std::string, std::string> env;
};

}  // namespace pb::cli::test
