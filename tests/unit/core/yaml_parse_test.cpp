#include "common/core/yaml_parse.hpp"

#include <gtest/gtest.h>

namespace pb {
namespace {

// The message of the refusal, or "" when the text loads.
std::string refusal(const std::string& text) {
    try {
        load_yaml(text);
        return "";
    } catch (const YAML::Exception& e) {
        return e.msg;
    }
}

std::string block_nest(int levels) {
    std::string out;
    for (int i = 0; i < levels; ++i) {
        out += std::string(static_cast<std::size_t>(i), ' ') + "a:\n";
    }
    return out + std::string(static_cast<std::size_t>(levels), ' ') + "a: 1\n";
}

TEST(LoadYaml, OrdinaryFilesLoad) {
    const auto root = load_yaml(R"(
server:
  listen: "127.0.0.1:8080"   # a comment with [ and {
  note: it's a [plain] value { not flow
args:
  - name: x
    pattern: '^[a-z]{1,3}$'
  - [1, [2, [3]], {a: b}]
script: |
  [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[
      - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - -
other: >-
  {{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{
)");
    EXPECT_EQ(root["server"]["listen"].as<std::string>(), "127.0.0.1:8080");
    EXPECT_EQ(root["args"][0]["pattern"].as<std::string>(), "^[a-z]{1,3}$");
    EXPECT_EQ(root["args"][1][1][1][0].as<int>(), 3);
    EXPECT_EQ(root["other"].as<std::string>().substr(0, 3), "{{{");
}

TEST(LoadYaml, NestingAtTheLimitLoadsAndDeeperIsRefused) {
    EXPECT_EQ(refusal(block_nest(50)), "");
    EXPECT_EQ(refusal(std::string(60, '[') + std::string(60, ']')), "");
    EXPECT_EQ(refusal(block_nest(200)), "YAML nested deeper than 64 levels");
    EXPECT_EQ(refusal(std::string(65, '[') + std::string(65, ']')),
              "YAML nested deeper than 64 levels");
}

// yaml-cpp recurses once per level: these would run it off the stack.
TEST(LoadYaml, AMillionLevelsAreRefusedBeforeYamlCppSeesThem) {
    EXPECT_EQ(refusal(std::string(1'000'000, '[')), "YAML nested deeper than 64 levels");
    EXPECT_EQ(refusal("a: " + std::string(1'000'000, '{')), "YAML nested deeper than 64 levels");
    std::string dashes;
    for (int i = 0; i < 1'000'000; ++i) {
        dashes += "- ";
    }
    EXPECT_EQ(refusal(dashes + "x\n"), "YAML nested deeper than 64 levels");
    EXPECT_EQ(refusal(block_nest(3000)), "YAML nested deeper than 64 levels");
}

// Aliases nest and multiply without nesting in the text.
TEST(LoadYaml, AliasesCannotBuildADeepOrHugeTree) {
    std::string chain = "a0: &a0 [x]\n";
    for (int i = 1; i < 100; ++i) {
        chain += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [*a" +
                 std::to_string(i - 1) + "]\n";
    }
    EXPECT_EQ(refusal(chain), "YAML nested deeper than 64 levels");
    std::string laughs = "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n";
    for (int i = 1; i < 9; ++i) {
        const std::string prev = "*l" + std::to_string(i - 1);
        laughs += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " [";
        for (int k = 0; k < 10; ++k) {
            laughs += (k == 0 ? "" : ", ") + prev;
        }
        laughs += "]\n";
    }
    EXPECT_EQ(refusal(laughs), "YAML aliases expand to more than 1000000 nodes");
}

TEST(LoadYaml, TheLineOfTheRefusalIsGiven) {
    try {
        load_yaml("a: 1\nb: 2\nc: " + std::string(100, '[') + "\n");
        FAIL();
    } catch (const YAML::ParserException& e) {
        EXPECT_EQ(e.mark.line, 2);
    }
}

}  // namespace
}  // namespace pb
