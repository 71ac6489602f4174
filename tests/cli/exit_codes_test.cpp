#include <string>

#include <gtest/gtest.h>

#include "tests/cli/cli_fixture.hpp"

namespace pb::cli::test {
namespace {

using ExitCodesTest = PbctlTest;

// An unknown flag is a usage error: exit 2.
TEST_F(ExitCodesTest, UnknownFlagExits2) {
    const auto r = pbctl({"keys", "list", "--bogus"});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("--bogus"), std::string::npos) << r.err;
}

// An unknown command and a missing required option are usage errors too.
TEST_F(ExitCodesTest, UnknownCommandAndMissingOptionExit2) {
    EXPECT_EQ(pbctl({"keys", "frobnicate"}).exit_code, 2);
    EXPECT_EQ(pbctl({"keys", "create"}).exit_code, 2);
    EXPECT_EQ(pbctl({"keys", "show"}).exit_code, 2);
    EXPECT_EQ(pbctl({"-o", "yaml", "health"}).exit_code, 2);
}

// A bad duration exits 2 with the documented message on stderr, writing nothing.
TEST_F(ExitCodesTest, BadDurationExits2WithTheMessage) {
    const auto r = pbctl({"keys", "create", "--owner", "ci-bot", "--expires", "soon"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(
        r.err.find("--expires: expected a duration like 30d or an RFC 3339 time, got \"soon\""),
        std::string::npos)
        << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_TRUE(ok_json({"keys", "list"}).at("keys").empty());
}

// Bad values for other typed flags exit 2 and name the flag.
TEST_F(ExitCodesTest, BadTypedValuesExit2NamingTheFlag) {
    auto r = pbctl({"keys", "create", "--owner", "x", "--remaining", "0"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("--remaining"), std::string::npos) << r.err;
    r = pbctl({"keys", "create", "--owner", "x", "--perm", "a b"});
    EXPECT_EQ(r.exit_code, 2);
    r = pbctl({"keys", "list", "--status", "sleepy"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("--status"), std::string::npos) << r.err;
    r = pbctl({"keys", "create", "--owner", "x", "--expires", "2026-02-30T00:00:00Z"});
    EXPECT_EQ(r.exit_code, 2);
}

// A malformed key exits 3 with "malformed" on stderr.
TEST_F(ExitCodesTest, MalformedKeyExits3) {
    const auto r = pbctl({"keys", "verify", "-"}, "pb_not_a_key\n");
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_NE(r.err.find("malformed"), std::string::npos) << r.err;
}

// A key that does not exist exits 3 "unknown".
TEST_F(ExitCodesTest, UnknownKeyExits3) {
    const auto key = create_key();
    ok({"keys", "delete", id_of(key)});
    const auto r = pbctl({"keys", "verify", "-"}, key);
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_NE(r.err.find("unknown"), std::string::npos) << r.err;
}

// An id that does not exist exits 4 for show, update, rotate, revoke and delete.
TEST_F(ExitCodesTest, NotFoundExits4) {
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"keys", "show", "nosuchkey123"},
          {"keys", "update", "nosuchkey123", "--name", "x"},
          {"keys", "rotate", "nosuchkey123"},
          {"keys", "revoke", "nosuchkey123"},
          {"keys", "delete", "nosuchkey123"},
          {"config", "explain", "no.such.setting"}}) {
        const auto r = pbctl(args);
        EXPECT_EQ(r.exit_code, 4) << describe(args, r);
    }
}

// Changing a revoked key is a conflict: exit 5.
TEST_F(ExitCodesTest, ConflictExits5) {
    const auto key = create_key();
    ok({"keys", "revoke", id_of(key)});
    const auto r = pbctl({"keys", "update", id_of(key), "--name", "x"});
    EXPECT_EQ(r.exit_code, 5) << r.err;
}

// An unusable database exits 7 (unavailable).
TEST_F(ExitCodesTest, UnreachableDatabaseExits7) {
    std::ofstream(dir.file("a-file")) << "x";
    env["PB_DB"] = dir.file("a-file") + "/pb.db";
    const auto r = pbctl({"keys", "list"});
    EXPECT_EQ(r.exit_code, 7) << r.err;
}

// With -o json an error is {"error":{"code","message","details"}} on stdout.
TEST_F(ExitCodesTest, JsonErrorShape) {
    auto r = pbctl({"keys", "show", "nosuchkey123", "-o", "json"});
    EXPECT_EQ(r.exit_code, 4);
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r.out;
    ASSERT_EQ(j.size(), 1U) << r.out;
    const auto& e = j.at("error");
    EXPECT_EQ(e.at("code"), "not_found");
    EXPECT_TRUE(e.at("message").is_string());
    EXPECT_EQ(e.at("details").at("id"), "nosuchkey123");

    r = pbctl({"keys", "create", "--owner", "x", "--expires", "soon", "-o", "json"});
    EXPECT_EQ(r.exit_code, 2);
    j = nlohmann::json::parse(r.out, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r.out;
    EXPECT_EQ(j.at("error").at("code"), "invalid_argument");
    EXPECT_EQ(j.at("error").at("message"),
              "--expires: expected a duration like 30d or an RFC 3339 time, got \"soon\"");
    EXPECT_EQ(j.at("error").at("details").at("param"), "expires");
}

// A failed verify with -o json is an answer, not an error: valid false and the reason.
TEST_F(ExitCodesTest, FailedVerifyJsonIsAVerdict) {
    const auto r = pbctl({"keys", "verify", "-", "-o", "json"}, "garbage\n");
    EXPECT_EQ(r.exit_code, 3);
    const auto j = nlohmann::json::parse(r.out, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r.out;
    EXPECT_EQ(j.at("valid"), false);
    EXPECT_EQ(j.at("reason"), "malformed");
}

}  // namespace
}  // namespace pb::cli::test
