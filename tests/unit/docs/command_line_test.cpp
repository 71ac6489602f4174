#include "common/docs/command_line.hpp"

#include <gtest/gtest.h>

#include "common/runtime/op_table.hpp"

namespace pb::docs {
namespace {

using nlohmann::json;

const ops::Op& op_named(std::string_view name) {
    const auto* op = runtime::op_table().find(name);
    EXPECT_NE(op, nullptr) << name;
    return *op;
}

// Pins: an example becomes the words pbctl reads back to the same call:
// positionals first, a list as a repeated flag, an object as JSON text, a
// duration in milliseconds with its unit, true as the bare flag.
TEST(PbctlWords, WriteEachKindOfValueAsPbctlReadsIt) {
    const json args{{"owner", "ci"},
                    {"permissions", {"a:read", "b:write"}},
                    {"metadata", {{"team", "x"}}},
                    {"expires", "30d"}};
    EXPECT_EQ(
        pbctl_words(op_named("keys.create"), args),
        (std::vector<std::string>{"keys", "create", "--owner", "ci", "--perm", "a:read", "--perm",
                                  "b:write", "--expires", "30d", "--metadata", R"({"team":"x"})"}));
    EXPECT_EQ(pbctl_words(op_named("keys.rotate"), {{"id", "K1"}, {"grace", 90000}}),
              (std::vector<std::string>{"keys", "rotate", "K1", "--grace", "90000ms"}));
}

// Pins: secrets.* ops are `pbctl vault …`, and NAME=VALUE fields are words.
TEST(PbctlWords, UseTheCliGroupAndFieldWords) {
    const auto words =
        pbctl_words(op_named("secrets.put"), {{"path", "app/db"}, {"data", {{"user", "svc"}}}});
    EXPECT_EQ(words, (std::vector<std::string>{"vault", "put", "app/db", "user=svc"}));
}

// Pins: a line of shell reads back to the same words, quotes included.
TEST(ShellLine, QuotesOnlyWhatTheShellWouldChange) {
    EXPECT_EQ(shell_line({"pbctl", "keys", "create", "--owner", "ci"}),
              "pbctl keys create --owner ci");
    EXPECT_EQ(shell_line({"--claims", R"({"role":"it's"})", ""}),
              R"(--claims '{"role":"it'\''s"}' '')");
    EXPECT_EQ(shell_line({"a b", "$HOME", "x;y"}), "'a b' '$HOME' 'x;y'");
}

}  // namespace
}  // namespace pb::docs
