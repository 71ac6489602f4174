// Hostile JSON and YAML at pbctl's doors: --data files, arguments that are not
// text, config and action files, ban imports. Each is refused with exit 2 and
// a message that names the limit, never a crash or a library's text.
#include <fstream>

#include "tests/cli/cli_fixture.hpp"

namespace pb::cli::test {
namespace {

using nlohmann::json;

std::string deep_array(std::size_t levels) {
    return std::string(levels, '[') + std::string(levels, ']');
}

class StrictJsonCliTest : public PbctlTest {
  protected:
    std::string file(const std::string& name, const std::string& content) {
        std::ofstream(dir.file(name), std::ios::binary) << content;
        return dir.file(name);
    }

    // Exit 2, the expected words on stderr, no library text anywhere.
    void expect_refused(const std::vector<std::string>& args, const std::string& words) {
        const auto r = pbctl(args);
        EXPECT_EQ(r.exit_code, 2) << describe(args, r);
        EXPECT_NE(r.err.find(words), std::string::npos) << describe(args, r);
        EXPECT_EQ((r.out + r.err).find("json.exception"), std::string::npos) << describe(args, r);
    }
};

// `states register --data @deep.json` ended with SIGSEGV (exit 139).
TEST_F(StrictJsonCliTest, DeepDataFilesAreRefusedWithTheLimit) {
    // A million levels (2 MB) is past the parameter size bound (server.max_body)
    // before any parse.
    const auto huge = file("huge.json", R"({"a":)" + deep_array(1'000'000) + "}");
    expect_refused({"states", "register", "s1", "--type", "feature", "--data", "@" + huge},
                   "--data: cannot read file " + huge + ": larger than 1048576 bytes");
    for (const std::size_t levels : {std::size_t{64}, std::size_t{140'000}}) {
        const auto path = file("deep.json", R"({"a":)" + deep_array(levels) + "}");
        expect_refused({"states", "register", "s1", "--type", "feature", "--data", "@" + path},
                       "--data: JSON nested deeper than 63 levels");
    }
    // A parameter is one member of a request body: 63 levels of its own.
    const auto r = pbctl({"states", "register", "s1", "--type", "feature", "--data",
                          "@" + dir.file("deep.json"), "-o", "json"});
    EXPECT_EQ(json::parse(r.out)["error"]["details"], json({{"param", "data"},
                                                            {"max_depth", 63},
                                                            {"pointer", "/data"},
                                                            {"expected", "an object"}}));
    const auto fits = file("fits.json", R"({"a":)" + deep_array(62) + "}");
    ok({"states", "register", "s1", "--type", "feature", "--data", "@" + fits});
    EXPECT_EQ(ok_json({"states", "list"})["states"].size(), 1U);
}

// The last member would win: an admin key where the first member says read.
TEST_F(StrictJsonCliTest, DuplicateMembersAndTrailingBytesAreRefused) {
    expect_refused({"states", "register", "s2", "--type", "feature", "--data",
                    R"({"permissions":["read"],"permissions":["admin"]})"},
                   R"(--data: duplicate member "permissions")");
    expect_refused({"keys", "create", "--owner", "x", "--metadata", R"({"a":1,"a":2})"},
                   R"(--metadata: duplicate member "a")");
    const auto garbage = file("garbage.json", std::string("{\"a\":1}\0garbage", 15));
    expect_refused({"states", "register", "s3", "--type", "feature", "--data", "@" + garbage},
                   "--data: not valid JSON at byte");
    expect_refused({"states", "register", "s4", "--type", "feature", "--data",
                    R"({"n":18446744073709551616})"},
                   "--data: number \"18446744073709551616\" is out of range");
    expect_refused({"states", "register", "s4", "--type", "feature", "--data", R"({"n":1e400})"},
                   "--data: number out of range");
    EXPECT_EQ(ok_json({"states", "list"})["states"].size(), 0U);
    EXPECT_EQ(ok_json({"keys", "list"})["keys"].size(), 0U);
}

// Was exit 1 with "[json.exception.type_error.316] invalid UTF-8 byte at index 11".
TEST_F(StrictJsonCliTest, ArgumentsThatAreNotUtf8AreInvalidArguments) {
    expect_refused({"keys", "create", "--owner", "ci\xff\xfe"}, "--owner: not valid UTF-8 text");
    expect_refused({"states", "register", "bad\xc3", "--type", "feature"},
                   "ID: not valid UTF-8 text");
    expect_refused({"states", "register", "s5", "--type", "feature", "--data", "{\"a\":\"\xff\"}"},
                   "--data: not valid UTF-8 text");
    const auto r = pbctl({"keys", "create", "--owner", "ci\xff", "-o", "json"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(json::parse(r.out)["error"]["details"]["param"], "owner");
    EXPECT_EQ(ok_json({"keys", "list"})["keys"].size(), 0U);
}

TEST_F(StrictJsonCliTest, DeepBanImportsAreRefused) {
    const auto path = file("bans.json", R"({"bans":)" + std::string(1'000'000, '[') + "]}");
    expect_refused({"bans", "import", path}, "ban file: JSON nested deeper than 64 levels");
    const auto dup = file("dup.json", R"({"bans":[{"target":"192.0.2.1","target":"10.0.0.0/8"}]})");
    expect_refused({"bans", "import", dup}, R"(ban file: duplicate member "target")");
    EXPECT_EQ(ok_json({"bans", "list", "--include-expired"}).at("bans").size(), 0U);
}

// yaml-cpp recurses per level: a config file of '[' ran it off the stack.
TEST_F(StrictJsonCliTest, DeepConfigFilesAreRefused) {
    std::string dashes;
    for (int i = 0; i < 1'000'000; ++i) {
        dashes += "- ";
    }
    for (const auto& text : {std::string(1'000'000, '[') + "\n", dashes + "x\n"}) {
        env["PB_CONFIG"] = file("deep.yaml", text);
        expect_refused({"keys", "list"}, "YAML nested deeper than 64 levels");
        const auto r = pb::test::run({pb::test::pbd_path(), "--check-config"}, env, "");
        EXPECT_EQ(r.exit_code, 2) << r.err;
        EXPECT_NE(r.err.find("deep.yaml:1: YAML nested deeper than 64 levels"), std::string::npos)
            << r.err;
    }
}

TEST_F(StrictJsonCliTest, DeepActionFilesAreRefusedByLint) {
    std::filesystem::create_directories(dir.file("deep"));
    std::string block;
    for (int i = 0; i < 3000; ++i) {
        block += std::string(static_cast<std::size_t>(i), ' ') + "a:\n";
    }
    file("deep/flow.yaml", "name: x\nargs: " + std::string(1'000'000, '[') + "\n");
    file("deep/block.yaml", "name: y\n" + block);
    const auto r = pbctl({"actions", "lint", dir.file("deep")});
    EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
    EXPECT_NE(r.out.find("flow.yaml:2 "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("block.yaml:66 "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("YAML syntax error: YAML nested deeper than 64 levels"), std::string::npos)
        << r.out;
    EXPECT_EQ((r.out + r.err).find("json.exception"), std::string::npos);
}

}  // namespace
}  // namespace pb::cli::test
