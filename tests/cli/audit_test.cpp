// The audit log as an operator meets it through the real pbctl, on SQLite and
// PostgreSQL: a chain that `audit verify` checks and that names a changed,
// inserted or removed row; secret values stored as HMACs that `audit hash`
// reproduces; reads of secrets audited; a change that cannot be audited is
// not made; retention that keeps the chain checkable; tail and audit.file.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <sys/stat.h>
#include <thread>

#include "common/store/store.hpp"
#include "tests/cli/cli_fixture.hpp"
#include "tests/support/test_db.hpp"

namespace pb::cli::test {
namespace {

using nlohmann::json;
using pb::test::Backend;

constexpr const char* k_password = "pw-c0ffee-only-as-a-hash";

class AuditCli : public PbctlTest, public ::testing::WithParamInterface<Backend> {
  protected:
    AuditCli() {
        if (GetParam() == Backend::postgres) {
            pg = std::make_unique<pb::test::TestDb>(Backend::postgres);
            env["PB_DB"] = pg->url();
        }
        env["PB_MASTER_KEY_FILE"] = dir.file("master.key");
    }

    // Runs statements as someone with write access to the database (not pb).
    void sql(const std::vector<std::string>& statements) {
        auto st = store::open_store(env["PB_DB"], store::StoreOptions{.pool_size = 1});
        st->transaction([&](store::Connection& c) {
            for (const auto& s : statements) {
                c.exec(s);
            }
        });
    }

    std::int64_t count(const std::string& query) {
        auto st = store::open_store(env["PB_DB"], store::StoreOptions{.pool_size = 1});
        return st->transaction(
            [&](store::Connection& c) { return c.query(query).front().get_int(0); },
            store::TxMode::read);
    }

    // A few audited ops: 3 key creations, a secret written and read.
    void some_history() {
        for (int i = 0; i < 3; ++i) {
            create_key();
        }
        ok({"vault", "put", "app/db", "password=-"}, std::string(k_password) + "\n");
        ok({"vault", "get", "app/db"});
    }

    // `audit verify` that must fail: its stderr. The table is left as it was.
    std::string verify_fails() {
        const auto before = count("SELECT COUNT(*) FROM audit_log");
        const auto r = pbctl({"audit", "verify"});
        EXPECT_EQ(r.exit_code, 5) << r.out << r.err;  // conflict
        EXPECT_EQ(count("SELECT COUNT(*) FROM audit_log"), before);
        return r.err;
    }

    std::unique_ptr<pb::test::TestDb> pg;
};

// Every audited op makes a chained row; verify checks them all; list is newest first.
TEST_P(AuditCli, VerifyPassesAndListIsNewestFirst) {
    some_history();
    const auto v = ok_json({"audit", "verify"});
    EXPECT_EQ(v.at("ok"), true);
    EXPECT_EQ(v.at("checked"), 5);
    EXPECT_EQ(v.at("unchained"), 0);
    EXPECT_EQ(v.at("head").at("seq"), 5);
    const auto list = ok_json({"audit", "list"});
    const auto& entries = list.at("entries");
    ASSERT_EQ(entries.size(), 5U) << list;
    EXPECT_EQ(entries[0].at("op"), "secrets.get");
    EXPECT_EQ(entries[0].at("seq"), 5);
    EXPECT_EQ(entries[4].at("op"), "keys.create");
    EXPECT_EQ(entries[4].at("seq"), 1);
    // Filters and the cursor.
    EXPECT_EQ(ok_json({"audit", "list", "--op", "keys.create"}).at("entries").size(), 3U);
    EXPECT_EQ(ok_json({"audit", "list", "--target", "app/db"}).at("entries").size(), 2U);
    EXPECT_EQ(ok_json({"audit", "list", "--until", "1h"}).at("entries").size(), 0U);
    EXPECT_EQ(ok_json({"audit", "list", "--since", "1h"}).at("entries").size(), 5U);
    const auto page = ok_json({"audit", "list", "--limit", "2"});
    ASSERT_TRUE(page.at("next_cursor").is_string()) << page;
    const auto next = ok_json(
        {"audit", "list", "--limit", "2", "--cursor", page.at("next_cursor").get<std::string>()});
    EXPECT_EQ(next.at("entries")[0].at("seq"), 3);
    EXPECT_EQ(ok_json({"audit", "list", "--all", "--limit", "2"}).at("entries").size(), 5U);
}

// A row changed in the database is named by id and seq; verify changes nothing.
TEST_P(AuditCli, ChangedRowIsNamed) {
    some_history();
    const auto id = count("SELECT id FROM audit_log WHERE seq = 2");
    sql({"UPDATE audit_log SET actor = 'local:someone-else' WHERE seq = 2"});
    const auto err = verify_fails();
    EXPECT_NE(err.find("id " + std::to_string(id) + " (seq 2) changed"), std::string::npos) << err;
    EXPECT_NE(err.find("1 problem"), std::string::npos) << err;
    EXPECT_EQ(verify_fails(), err);  // nothing was repaired or moved
}

// Rows inserted by hand: without a seq, or past the head.
TEST_P(AuditCli, InsertedRowsAreNamed) {
    some_history();
    sql(
        {"INSERT INTO audit_log (at, actor, op, target, outcome, args) VALUES (1, 'local:x', "
         "'keys.delete', 'k', 'ok', '{}')"});
    auto err = verify_fails();
    EXPECT_NE(err.find("inserted: a row without a place in the chain"), std::string::npos) << err;
    sql({"DELETE FROM audit_log WHERE seq IS NULL",
         "INSERT INTO audit_log (at, actor, op, target, outcome, args, seq, hmac) VALUES (1, "
         "'local:x', 'keys.delete', 'k', 'ok', '{}', 6, 'ab')"});
    err = verify_fails();
    EXPECT_NE(err.find("(seq 6) inserted: beyond the chain head (seq 5)"), std::string::npos)
        << err;
}

// Removed rows: in the middle (the gap named), and the newest.
TEST_P(AuditCli, RemovedRowsAreNamed) {
    some_history();
    sql({"DELETE FROM audit_log WHERE seq = 3"});
    auto err = verify_fails();
    EXPECT_NE(err.find("removed: rows seq 3..3 are missing"), std::string::npos) << err;
    sql({"DELETE FROM audit_log WHERE seq = 5"});
    err = verify_fails();
    EXPECT_NE(err.find("removed: rows seq 5..5 are missing (the chain head is seq 5)"),
              std::string::npos)
        << err;
}

// A secret value is stored as its HMAC, which `audit hash` reproduces (value
// from stdin) and `audit list --value-hash` finds; the value itself nowhere.
TEST_P(AuditCli, SecretValuesAreHashes) {
    some_history();
    auto hash = ok({"audit", "hash", "-", "-q"}, std::string(k_password) + "\n");
    ASSERT_FALSE(hash.empty());
    hash.pop_back();
    EXPECT_TRUE(hash.starts_with("hmac-sha256:")) << hash;
    const auto found = ok_json({"audit", "list", "--value-hash", hash});
    ASSERT_EQ(found.at("entries").size(), 1U) << found;
    EXPECT_EQ(found.at("entries")[0].at("op"), "secrets.put");
    EXPECT_EQ(found.at("entries")[0].at("args").at("data").at("password"), hash);
    EXPECT_EQ(ok_json({"audit", "list", "--value-hash",
                       ok({"audit", "hash", "other", "-q"}).substr(0, hash.size())})
                  .at("entries")
                  .size(),
              0U);
    EXPECT_EQ(ok({"audit", "list", "-o", "json"}).find(k_password), std::string::npos);
    const auto bad = pbctl({"audit", "list", "--value-hash", "%"});
    EXPECT_EQ(bad.exit_code, 2) << bad.err;
}

// Reads of secrets are audited, with their path as target.
TEST_P(AuditCli, SecretReadsAreAudited) {
    some_history();
    ok({"vault", "get", "app/db", "--field", "password", "-q"});
    const auto reads = ok_json({"audit", "list", "--op", "secrets.get"}).at("entries");
    ASSERT_EQ(reads.size(), 2U);
    EXPECT_EQ(reads[0].at("target"), "app/db");
    EXPECT_EQ(reads[0].at("outcome"), "ok");
    ok({"config", "show"});
    EXPECT_EQ(ok_json({"audit", "list", "--op", "config.show"}).at("entries").size(), 1U);
}

// When the audit row cannot be written, the change is not made and the op
// fails; a read of secrets fails only with audit.fail_closed.
TEST_P(AuditCli, UnwritableAuditRowStopsTheChange) {
    some_history();
    const auto keys_before = count("SELECT COUNT(*) FROM api_keys");
    if (GetParam() == Backend::sqlite) {
        sql(
            {"CREATE TRIGGER no_audit BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, "
             "'audit refused'); END"});
    } else {
        sql(
            {"CREATE FUNCTION no_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE "
             "EXCEPTION 'audit refused'; END $$",
             "CREATE TRIGGER no_audit BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION "
             "no_audit()"});
    }
    const auto r = pbctl({"keys", "create", "--owner", "ci-bot"});
    EXPECT_EQ(r.exit_code, 7) << r.out << r.err;  // unavailable
    EXPECT_NE(r.err.find("audit record cannot be written"), std::string::npos) << r.err;
    EXPECT_EQ(count("SELECT COUNT(*) FROM api_keys"), keys_before);
    const auto put = pbctl({"vault", "put", "app/db", "password=two"});
    EXPECT_EQ(put.exit_code, 7) << put.err;
    EXPECT_EQ(ok({"vault", "get", "app/db", "--field", "password", "-q"}),
              std::string(k_password) + "\n");  // fail open: the read goes on, logged
    env["PB_AUDIT_FAIL_CLOSED"] = "true";
    const auto read = pbctl({"vault", "get", "app/db", "--field", "password", "-q"});
    EXPECT_EQ(read.exit_code, 7) << read.err;
    EXPECT_EQ(read.out.find(k_password), std::string::npos) << read.out;
    EXPECT_NE(read.err.find("audit.fail_closed"), std::string::npos) << read.err;
}

// Retention deletes old rows but records the pruned head: verify still passes,
// and a forged pruned head is caught.
TEST_P(AuditCli, PruningKeepsTheChainCheckable) {
    some_history();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const auto pruned = ok_json({"audit", "prune", "--older-than", "10ms"});
    EXPECT_EQ(pruned.at("deleted"), 4);  // the newest stays
    const auto v = ok_json({"audit", "verify"});
    EXPECT_EQ(v.at("pruned").at("seq"), 4);
    EXPECT_EQ(v.at("checked"), 2);  // secrets.get (seq 5) and audit.prune's own row
    sql({"UPDATE audit_chain SET pruned_seq = pruned_seq + 1"});
    const auto err = verify_fails();
    EXPECT_NE(err.find("the chain head (audit_chain) was changed"), std::string::npos) << err;
}

// Retention refuses to delete a tampered part (the evidence stays).
TEST_P(AuditCli, PruningRefusesATamperedPart) {
    some_history();
    sql({"UPDATE audit_log SET outcome = 'conflict' WHERE seq = 2"});
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const auto r = pbctl({"audit", "prune", "--older-than", "10ms"});
    EXPECT_EQ(r.exit_code, 5) << r.err;
    EXPECT_NE(r.err.find("not pruning a tampered chain (id"), std::string::npos) << r.err;
    EXPECT_EQ(count("SELECT COUNT(*) FROM audit_log WHERE seq <= 5"), 5);
}

// Two streams of pbctl processes writing at once: one chain, whole.
TEST_P(AuditCli, ConcurrentWritersKeepOneChain) {
    constexpr int k_each = 8;
    auto stream = [&](const std::string& owner) {
        for (int i = 0; i < k_each; ++i) {
            const auto r = pbctl({"keys", "create", "--owner", owner, "-q"});
            EXPECT_EQ(r.exit_code, 0) << r.err;
        }
    };
    std::thread a(stream, "a");
    std::thread b(stream, "b");
    a.join();
    b.join();
    const auto v = ok_json({"audit", "verify"});
    EXPECT_EQ(v.at("checked"), 2 * k_each);
    EXPECT_EQ(v.at("head").at("seq"), 2 * k_each);
}

// audit tail prints JSON lines oldest first from --since; -f follows until
// --count; fewer by --timeout is an error.
TEST_P(AuditCli, TailPrintsJsonLines) {
    some_history();
    const auto out = ok({"audit", "tail", "--since", "2"});
    std::istringstream lines(out);
    std::string line;
    std::vector<json> rows;
    while (std::getline(lines, line)) {
        rows.push_back(json::parse(line));
    }
    ASSERT_EQ(rows.size(), 3U) << out;
    EXPECT_EQ(rows[0].at("seq"), 3);
    EXPECT_EQ(rows[2].at("op"), "secrets.get");
    const auto followed = ok({"audit", "tail", "-f", "--since", "0", "--count", "5"});
    EXPECT_EQ(std::count(followed.begin(), followed.end(), '\n'), 5);
    const auto r = pbctl({"audit", "tail", "-f", "--count", "1", "--timeout", "300ms"});
    EXPECT_EQ(r.exit_code, 7) << r.err;
}

// audit.file: each committed row as one JSON line, in a 0600 file.
TEST_P(AuditCli, AuditFileGetsJsonLines) {
    env["PB_AUDIT_FILE"] = dir.file("audit.jsonl");
    some_history();
    std::ifstream in(dir.file("audit.jsonl"));
    std::string line;
    std::vector<json> rows;
    while (std::getline(in, line)) {
        rows.push_back(json::parse(line));
    }
    ASSERT_EQ(rows.size(), 5U);
    EXPECT_EQ(rows[0].at("op"), "keys.create");
    EXPECT_EQ(rows[0].at("seq"), 1);
    EXPECT_EQ(rows[3].at("args").at("data").at("password").get<std::string>().substr(0, 12),
              "hmac-sha256:");
    struct stat st {};
    ASSERT_EQ(::stat(dir.file("audit.jsonl").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600);
    const auto verified = ok_json({"audit", "verify"});
    EXPECT_EQ(verified.at("head").at("hmac"), rows[4].at("hmac"));
}

PB_INSTANTIATE_BACKENDS(AuditCli);

}  // namespace
}  // namespace pb::cli::test
