#include <string>

#include <gtest/gtest.h>

#include "tests/cli/cli_fixture.hpp"

namespace pb::cli::test {
namespace {

using OperatorScriptTest = PbctlTest;

// The operator script, step by step, exactly as an operator types it.
TEST_F(OperatorScriptTest, WorksEndToEnd) {
    // KEY=$(pbctl keys create --owner ci-bot --name deploy --perm deploy:write --expires 30d -q)
    auto created = pbctl({"keys", "create", "--owner", "ci-bot", "--name", "deploy", "--perm",
                          "deploy:write", "--expires", "30d", "-q"});
    ASSERT_EQ(created.exit_code, 0) << created.err;
    ASSERT_EQ(created.out.size(), 55U) << "one key and a newline: " << created.out;
    const std::string key = created.out.substr(0, 54);
    ASSERT_TRUE(key.starts_with("pb_")) << key;
    EXPECT_EQ(created.out.back(), '\n');
    const std::string id = id_of(key);

    // pbctl keys verify - <<<"$KEY"
    auto verified = pbctl({"keys", "verify", "-"}, key + "\n");
    EXPECT_EQ(verified.exit_code, 0) << verified.err;

    // pbctl keys list --owner ci-bot (table)
    const auto table = ok({"keys", "list", "--owner", "ci-bot"});
    EXPECT_NE(table.find("ID"), std::string::npos) << table;
    EXPECT_NE(table.find("OWNER"), std::string::npos) << table;
    EXPECT_NE(table.find(id), std::string::npos) << table;
    EXPECT_NE(table.find("deploy:write"), std::string::npos) << table;
    EXPECT_NE(table.find("active"), std::string::npos) << table;
    EXPECT_EQ(table.find(key.substr(16)), std::string::npos) << "secret in list output";

    // pbctl keys list --owner ci-bot -o json
    const auto listed = ok_json({"keys", "list", "--owner", "ci-bot"});
    ASSERT_EQ(listed.at("keys").size(), 1U);
    const auto& row = listed.at("keys")[0];
    EXPECT_EQ(row.at("id"), id);
    EXPECT_EQ(row.at("owner"), "ci-bot");
    EXPECT_EQ(row.at("name"), "deploy");
    EXPECT_EQ(row.at("permissions"), nlohmann::json::array({"deploy:write"}));
    EXPECT_EQ(row.at("status"), "active");
    EXPECT_TRUE(row.at("expires_at").is_string());
    EXPECT_TRUE(ok_json({"keys", "list", "--owner", "someone-else"}).at("keys").empty());

    // pbctl keys show ID
    const auto shown = ok_json({"keys", "show", id});
    EXPECT_EQ(shown.at("id"), id);
    EXPECT_EQ(shown.at("status"), "active");
    EXPECT_EQ(shown.dump().find(key.substr(16)), std::string::npos);
    EXPECT_NE(ok({"keys", "show", id}).find("ci-bot"), std::string::npos);

    // pbctl keys update ID --perm a --perm b --remaining 100
    const auto updated =
        ok_json({"keys", "update", id, "--perm", "a", "--perm", "b", "--remaining", "100"});
    EXPECT_EQ(updated.at("permissions"), nlohmann::json::array({"a", "b"}));
    EXPECT_EQ(updated.at("remaining"), 100);

    // NEW=$(pbctl keys rotate ID --grace 1h -q): a new key; the old one still verifies.
    auto rotated = pbctl({"keys", "rotate", id, "--grace", "1h", "-q"});
    ASSERT_EQ(rotated.exit_code, 0) << rotated.err;
    ASSERT_EQ(rotated.out.size(), 55U) << rotated.out;
    const std::string new_key = rotated.out.substr(0, 54);
    EXPECT_NE(new_key, key);
    EXPECT_EQ(id_of(new_key), id);
    EXPECT_EQ(pbctl({"keys", "verify", "-"}, new_key + "\n").exit_code, 0);
    EXPECT_EQ(pbctl({"keys", "verify", "-"}, key + "\n").exit_code, 0);
    const auto after_uses = ok_json({"keys", "show", id});
    EXPECT_EQ(after_uses.at("remaining"), 98);
    EXPECT_TRUE(after_uses.at("previous_secret_valid_until").is_string());

    // pbctl keys revoke ID; verify now exits 3 with the reason on stderr.
    ok({"keys", "revoke", id});
    for (const auto& k : {key, new_key}) {
        auto refused = pbctl({"keys", "verify", "-"}, k + "\n");
        EXPECT_EQ(refused.exit_code, 3) << refused.err;
        EXPECT_NE(refused.err.find("revoked"), std::string::npos) << refused.err;
    }

    // pbctl keys delete ID; show now exits 4.
    ok({"keys", "delete", id});
    auto gone = pbctl({"keys", "show", id});
    EXPECT_EQ(gone.exit_code, 4) << gone.err;
    EXPECT_NE(gone.err.find(id), std::string::npos) << gone.err;
}

// verify -q prints the key's id, and the key can also be given as an argument.
TEST_F(OperatorScriptTest, VerifyQuietPrintsTheId) {
    const auto key = create_key();
    EXPECT_EQ(ok({"keys", "verify", "-", "-q"}, key), id_of(key) + "\n");
    EXPECT_EQ(ok({"keys", "verify", key, "-q"}), id_of(key) + "\n");
}

// verify -o json reports identity and permissions.
TEST_F(OperatorScriptTest, VerifyJsonReportsIdentity) {
    const auto key = create_key({"--perm", "deploy:write", "--perm", "keys:read"});
    const auto out = ok({"keys", "verify", "-", "-o", "json"}, key + "\n");
    const auto j = nlohmann::json::parse(out);
    EXPECT_EQ(j.at("valid"), true);
    EXPECT_EQ(j.at("id"), id_of(key));
    EXPECT_EQ(j.at("owner"), "ci-bot");
    EXPECT_EQ(j.at("permissions"), nlohmann::json::array({"deploy:write", "keys:read"}));
}

// A key with uses left counts down and then exits 3 "exhausted".
TEST_F(OperatorScriptTest, RemainingUsesRunOut) {
    const auto key = create_key({"--remaining", "1"});
    EXPECT_EQ(pbctl({"keys", "verify", "-"}, key).exit_code, 0);
    const auto r = pbctl({"keys", "verify", "-"}, key);
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_NE(r.err.find("exhausted"), std::string::npos) << r.err;
}

// Rotation without --grace invalidates the old key at once.
TEST_F(OperatorScriptTest, RotateWithoutGraceInvalidatesAtOnce) {
    const auto key = create_key();
    const auto new_key = ok({"keys", "rotate", id_of(key), "-q"});
    EXPECT_EQ(pbctl({"keys", "verify", "-"}, new_key).exit_code, 0);
    const auto r = pbctl({"keys", "verify", "-"}, key);
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_NE(r.err.find("unknown"), std::string::npos) << r.err;
}

// update --expires never and --unlimited clear the limits.
TEST_F(OperatorScriptTest, UpdateClearsLimits) {
    const auto key = create_key({"--expires", "1d", "--remaining", "5"});
    const auto j = ok_json({"keys", "update", id_of(key), "--expires", "never", "--unlimited"});
    EXPECT_TRUE(j.at("expires_at").is_null());
    EXPECT_TRUE(j.at("remaining").is_null());
}

// list --status filters, and a revoked key shows as revoked.
TEST_F(OperatorScriptTest, ListFiltersByStatus) {
    const auto a = create_key();
    const auto b = create_key();
    ok({"keys", "revoke", id_of(a)});
    const auto revoked = ok_json({"keys", "list", "--status", "revoked"});
    ASSERT_EQ(revoked.at("keys").size(), 1U);
    EXPECT_EQ(revoked.at("keys")[0].at("id"), id_of(a));
    const auto active = ok_json({"keys", "list", "--status", "active"});
    ASSERT_EQ(active.at("keys").size(), 1U);
    EXPECT_EQ(active.at("keys")[0].at("id"), id_of(b));
}

}  // namespace
}  // namespace pb::cli::test
