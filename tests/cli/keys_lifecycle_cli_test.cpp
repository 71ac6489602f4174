// pbctl keys disable/enable and keys import on the database, as an operator
// scripts them: exit statuses, what verify answers, what list and show say,
// the audit log, and hostile input that changes nothing.
#include <fstream>

#include <gtest/gtest.h>

#include "common/core/crypto.hpp"
#include "tests/cli/cli_fixture.hpp"

namespace pb::cli::test {
namespace {

using nlohmann::json;

const std::string k_legacy = "sk_live_4eC39HqLyjWDarjtT1zdp7dc";
const std::string k_legacy_2 = "old-system.key.0aB1c2D3e4F5g6H7";  // a dot: not a JWT either

std::string hash_text(const std::string& text) {
    return "sha256:" + crypto::to_hex(crypto::sha256(text));
}

class KeysLifecycleCli : public PbctlTest {
  protected:
    std::size_t key_count() { return ok_json({"keys", "list"}).at("keys").size(); }

    std::string write(const std::string& name, const std::string& text) {
        std::ofstream(dir.file(name)) << text;
        return dir.file(name);
    }
};

// disable: verify exits 3 naming "disabled", list and show say so; enable
// makes it verify again; both are in the audit log with the key's id.
TEST_F(KeysLifecycleCli, DisableThenEnable) {
    const auto key = create_key();
    const auto id = id_of(key);
    const auto disabled = ok_json({"keys", "disable", id, "--reason", "unpaid invoice"});
    EXPECT_EQ(disabled.at("status"), "disabled");
    EXPECT_EQ(disabled.at("disabled_reason"), "unpaid invoice");
    const auto refused = pbctl({"keys", "verify", "-"}, key + "\n");
    EXPECT_EQ(refused.exit_code, 3) << refused.err;
    EXPECT_NE(refused.err.find("disabled"), std::string::npos) << refused.err;
    EXPECT_EQ(ok({"keys", "list", "--status", "disabled", "-q"}), id + "\n");
    EXPECT_EQ(ok({"keys", "list", "--status", "active", "-q"}), "");
    EXPECT_NE(ok({"keys", "list"}).find("disabled"), std::string::npos);
    EXPECT_EQ(ok_json({"keys", "show", id}).at("status"), "disabled");

    EXPECT_EQ(ok_json({"keys", "enable", id}).at("status"), "active");
    EXPECT_EQ(pbctl({"keys", "verify", "-"}, key + "\n").exit_code, 0);
    for (const char* op : {"keys.disable", "keys.enable"}) {
        const auto audit = ok_json({"audit", "list", "--op", op}).at("entries");
        ASSERT_EQ(audit.size(), 1U) << op;
        EXPECT_EQ(audit[0].at("target"), id);
        EXPECT_EQ(audit[0].at("outcome"), "ok");
    }
    EXPECT_EQ(
        ok_json({"audit", "list", "--op", "keys.disable"}).at("entries")[0].at("args").at("reason"),
        "unpaid invoice");
}

// A revoked key cannot be enabled (exit 5); an unknown id is exit 4.
TEST_F(KeysLifecycleCli, RevokedCannotBeEnabledUnknownIsNotFound) {
    const auto id = id_of(create_key());
    ok({"keys", "revoke", id});
    EXPECT_EQ(pbctl({"keys", "enable", id}).exit_code, 5);
    EXPECT_EQ(pbctl({"keys", "disable", id}).exit_code, 5);
    EXPECT_EQ(pbctl({"keys", "disable", "nosuchkey123"}).exit_code, 4);
}

// keys import --hash: the old system's text verifies (-q prints the new id);
// the same hash again is exit 5; nothing else was added.
TEST_F(KeysLifecycleCli, ImportOneByHash) {
    const auto id = ok({"keys", "import", "--hash", hash_text(k_legacy), "--owner", "acme",
                        "--perm", "read", "--name", "stripe", "-q"});
    ASSERT_EQ(id.size(), 13U) << id;
    const auto verified = json::parse(ok({"keys", "verify", "-", "-o", "json"}, k_legacy + "\n"));
    EXPECT_EQ(verified.at("id"), id.substr(0, 12));
    EXPECT_EQ(verified.at("owner"), "acme");
    EXPECT_EQ(ok_json({"keys", "show", id.substr(0, 12)}).at("imported"), true);
    const auto again = pbctl({"keys", "import", "--hash", hash_text(k_legacy), "--owner", "x"});
    EXPECT_EQ(again.exit_code, 5) << again.err;
    EXPECT_EQ(key_count(), 1U);
    const auto other = pbctl({"keys", "verify", "-"}, "sk_live_not_imported\n");
    EXPECT_EQ(other.exit_code, 3);
    EXPECT_NE(other.err.find("unknown"), std::string::npos) << other.err;
}

// Pins: an imported key may join an identity (--identity, or an identity column
// of a file): it shares its credits; an unknown identity imports nothing (exit 4).
TEST_F(KeysLifecycleCli, ImportIntoAnIdentity) {
    ok({"identities", "create", "acme", "--remaining", "1", "-q"});
    const auto unknown = pbctl({"keys", "import", "--hash", hash_text(k_legacy), "--owner", "acme",
                                "--identity", "nobody"});
    EXPECT_EQ(unknown.exit_code, 4) << unknown.err;
    EXPECT_EQ(key_count(), 0U);
    const auto csv = write("keys.csv", "hash,owner,identity\n" + hash_text(k_legacy) +
                                           ",acme,acme\n" + hash_text(k_legacy_2) + ",acme,acme\n");
    ok({"keys", "import", csv, "-q"});
    const auto first = json::parse(ok({"keys", "verify", "-", "-o", "json"}, k_legacy + "\n"));
    EXPECT_EQ(first.at("identity").at("id"), "acme") << first;
    // The identity's one credit is spent: its other key is exhausted.
    const auto second = pbctl({"keys", "verify", "-"}, k_legacy_2 + "\n");
    EXPECT_EQ(second.exit_code, 3) << second.err;
    EXPECT_NE(second.err.find("exhausted"), std::string::npos) << second.err;
}

// Bad hashes and missing fields: exit 2 saying what is wrong, nothing imported.
TEST_F(KeysLifecycleCli, BadHashesChangeNothing) {
    const auto refused = [&](const std::vector<std::string>& args, const std::string& says) {
        const auto r = pbctl(args);
        EXPECT_EQ(r.exit_code, 2) << describe(args, r);
        EXPECT_NE(r.err.find(says), std::string::npos) << describe(args, r);
    };
    const std::string hex(64, 'a');
    refused({"keys", "import", "--hash", "md5:" + std::string(32, 'a'), "--owner", "a"},
            "\"md5\" is not a supported algorithm");
    refused({"keys", "import", "--hash", "sha256:" + hex.substr(1), "--owner", "a"},
            "64 hex digits, not 63");
    refused({"keys", "import", "--hash", "sha256:" + hex.substr(1) + "x", "--owner", "a"},
            "not hex");
    refused({"keys", "import", "--hash", hex, "--owner", "a"}, "expected sha256:");
    refused({"keys", "import", "--hash", "sha256:" + hex}, "owner is required");
    refused({"keys", "import", "--owner", "a"}, "give a key's hash");
    EXPECT_EQ(key_count(), 0U);
}

// keys import FILE (CSV, then JSON): every key verifies by its own text.
TEST_F(KeysLifecycleCli, ImportFiles) {
    const auto csv =
        write("keys.csv", "hash,owner,name,permissions\n" + hash_text(k_legacy) +
                              ",acme,stripe,read write\n" + hash_text(k_legacy_2) + ",bob,,\n");
    const auto ids = ok({"keys", "import", csv, "-q"});
    EXPECT_EQ(ids.size(), 26U) << ids;
    const auto first = json::parse(ok({"keys", "verify", "-", "-o", "json"}, k_legacy + "\n"));
    EXPECT_EQ(first.at("permissions"), (json{"read", "write"}));
    EXPECT_EQ(json::parse(ok({"keys", "verify", "-", "-o", "json"}, k_legacy_2 + "\n")).at("owner"),
              "bob");
    const auto doc = write(
        "more.json",
        json{{"keys",
              {{{"hash", hash_text("third-key-text")}, {"owner", "carol"}, {"expires_at", "30d"}}}}}
            .dump());
    EXPECT_EQ(ok_json({"keys", "import", doc}).at("imported"), 1);
    EXPECT_EQ(pbctl({"keys", "verify", "-"}, "third-key-text\n").exit_code, 0);
    EXPECT_EQ(key_count(), 3U);
}

// A CSV with one bad line: exit 2 naming the file and the line, no key
// imported; a line whose hash is already imported: exit 5, no key imported.
TEST_F(KeysLifecycleCli, ABadLineImportsNothing) {
    const auto bad = write("bad.csv", hash_text("one") + ",acme\n" + hash_text("two") + ",acme\n" +
                                          "sha256:1234,acme\n");
    const auto r = pbctl({"keys", "import", bad});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("line 3: hash"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("nothing imported"), std::string::npos) << r.err;
    EXPECT_EQ(key_count(), 0U);

    ok({"keys", "import", "--hash", hash_text("two"), "--owner", "acme"});
    const auto dup = write("dup.csv", hash_text("one") + ",acme\n" + hash_text("two") + ",acme\n");
    const auto conflict = pbctl({"keys", "import", dup});
    EXPECT_EQ(conflict.exit_code, 5) << conflict.err;
    EXPECT_NE(conflict.err.find("row 2"), std::string::npos) << conflict.err;
    EXPECT_EQ(key_count(), 1U);
    EXPECT_EQ(pbctl({"keys", "verify", "-"}, "one\n").exit_code, 3);

    const auto both = pbctl({"keys", "import", dup, "--owner", "x"});
    EXPECT_EQ(both.exit_code, 2) << both.err;
}

}  // namespace
}  // namespace pb::cli::test
