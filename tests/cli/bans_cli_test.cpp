// pbctl bans … and pbctl limits … against the database, through the real binary.
#include <fstream>

#include "tests/cli/cli_fixture.hpp"

namespace pb::cli::test {
namespace {

using nlohmann::json;

class BansCliTest : public PbctlTest {
  protected:
    // Writes `text` to a file in the temp dir and returns its path.
    std::string file(const std::string& name, const std::string& text) {
        std::ofstream(dir.file(name)) << text;
        return dir.file(name);
    }

    std::vector<std::string> targets(const json& list) {
        std::vector<std::string> out;
        for (const auto& b : list.at("bans")) {
            out.push_back(b.at("target"));
        }
        return out;
    }
};

// A ban covering the operator's own addresses (bans.allow) is refused, exit 5,
// saying how to force it; --force bans it; nothing is written before that.
TEST_F(BansCliTest, BanOfTheAllowListNeedsForce) {
    for (const char* target : {"0.0.0.0/0", "::/0", "127.0.0.1"}) {
        const auto r = pbctl({"bans", "add", target});
        EXPECT_EQ(r.exit_code, 5) << target << ": " << r.out << r.err;
        EXPECT_NE(r.err.find("bans.allow"), std::string::npos) << r.err;
        EXPECT_NE(r.err.find("--force"), std::string::npos) << r.err;
    }
    EXPECT_TRUE(ok_json({"bans", "list"}).at("bans").empty());
    const auto forced = ok_json({"bans", "add", "0.0.0.0/0", "--force", "--reason", "drill"});
    EXPECT_EQ(forced.at("target"), "0.0.0.0/0");
    EXPECT_EQ(targets(ok_json({"bans", "list"})), std::vector<std::string>{"0.0.0.0/0"});
}

// add, list, check (exit 6 when banned, 0 when not), remove: the walk-through.
TEST_F(BansCliTest, AddListCheckRemove) {
    const auto added =
        ok_json({"bans", "add", "203.0.113.7", "--for", "4h", "--reason", "credential stuffing"});
    EXPECT_EQ(added.at("target"), "203.0.113.7");
    EXPECT_EQ(added.at("origin"), "manual");
    EXPECT_TRUE(added.at("created_by").get<std::string>().starts_with("local:"));
    EXPECT_TRUE(added.at("expires_at").is_string());
    ok({"bans", "add", "2001:db8::/32", "--reason", "abusive range"});
    ok({"bans", "add", "user:mallory", "--for", "30d"});
    ok({"bans", "add", "key:abcDEF123456"});

    EXPECT_EQ(targets(ok_json({"bans", "list"})),
              (std::vector<std::string>{"203.0.113.7", "2001:db8::/32", "user:mallory",
                                        "key:abcDEF123456"}));
    EXPECT_EQ(targets(ok_json({"bans", "list", "--scope", "range"})),
              (std::vector<std::string>{"2001:db8::/32"}));
    const auto table = ok({"bans", "list"});
    EXPECT_NE(table.find("TARGET"), std::string::npos) << table;
    EXPECT_NE(table.find("credential stuffing"), std::string::npos) << table;

    auto banned = pbctl({"bans", "check", "2001:db8::9", "-o", "json"});
    EXPECT_EQ(banned.exit_code, 6) << describe({"bans", "check"}, banned);
    const auto verdict = json::parse(banned.out);
    EXPECT_EQ(verdict.at("banned"), true);
    EXPECT_EQ(verdict.at("ban").at("target"), "2001:db8::/32");
    EXPECT_NE(banned.err.find("abusive range"), std::string::npos) << banned.err;
    EXPECT_EQ(pbctl({"bans", "check", "user:mallory"}).exit_code, 6);
    EXPECT_EQ(pbctl({"bans", "check", "203.0.113.9"}).exit_code, 0);
    EXPECT_EQ(ok({"bans", "check", "203.0.113.9", "-q"}), "false\n");

    ok({"bans", "remove", "203.0.113.7"});
    EXPECT_EQ(pbctl({"bans", "check", "203.0.113.7"}).exit_code, 0);
    EXPECT_EQ(pbctl({"bans", "remove", "203.0.113.7"}).exit_code, 4);
}

// Bad input is exit 2 with a message naming the problem, and writes nothing.
TEST_F(BansCliTest, BadInputIsExit2) {
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"bans", "add", "300.1.1.1"},
             {"bans", "add", "10.0.0.0/33"},
             {"bans", "add", "mallory"},
             {"bans", "add", "203.0.113.7", "--for", "soon"},
             {"bans", "list", "--scope", "planet"},
             {"bans", "check", "user:"},
             {"limits", "check", "300.1.1.1"},
             {"limits", "check", "198.51.100.4", "--scope", "moon"},
             {"bans", "import", "/no/such/file.csv"},
         }) {
        const auto r = pbctl(args);
        EXPECT_EQ(r.exit_code, 2) << describe(args, r);
        EXPECT_FALSE(r.err.empty());
    }
    const auto r = pbctl({"bans", "add", "10.0.0.0/33"});
    EXPECT_NE(r.err.find("prefix length must be 0..32 for IPv4"), std::string::npos) << r.err;
    EXPECT_EQ(ok_json({"bans", "list", "--include-expired"}).at("bans").size(), 0U);
}

// export -o json, then import into a fresh database, gives the same bans.
TEST_F(BansCliTest, ExportImportRoundTrip) {
    ok({"bans", "add", "203.0.113.7", "--for", "4h", "--reason", "a, \"quoted\" reason"});
    ok({"bans", "add", "2001:db8::/32"});
    ok({"bans", "add", "user:mallory", "--for", "30d"});
    const auto exported = ok({"bans", "export", "-o", "json"});
    const auto path = file("bans.json", exported);

    env["PB_DB"] = dir.file("other.db");
    const auto imported = ok_json({"bans", "import", path});
    EXPECT_EQ(imported.at("imported"), 3);
    const auto before = json::parse(exported).at("bans");
    const auto after = ok_json({"bans", "export"}).at("bans");
    ASSERT_EQ(after.size(), before.size());
    for (std::size_t i = 0; i < before.size(); ++i) {
        for (const char* field : {"target", "kind", "reason", "expires_at", "origin"}) {
            EXPECT_EQ(after[i].at(field), before[i].at(field)) << field;
        }
    }
}

// export -o csv, then import of that file into a fresh database, gives the
// same bans (quoted reasons, permanent ones, ranges); -o csv on a command that
// lists nothing is refused before anything runs.
TEST_F(BansCliTest, CsvExportImportRoundTrip) {
    ok({"bans", "add", "203.0.113.7", "--for", "4h", "--reason", "a, \"quoted\" reason"});
    ok({"bans", "add", "2001:db8::/32"});
    ok({"bans", "add", "user:mallory", "--for", "30d"});
    const auto csv = ok({"bans", "export", "-o", "csv"});
    EXPECT_EQ(csv.rfind("target,kind,origin,reason,expires_at,created_by,active\r\n", 0), 0U)
        << csv;
    const auto path = file("bans.csv", csv);
    const auto before = ok_json({"bans", "export"}).at("bans");

    env["PB_DB"] = dir.file("other.db");
    EXPECT_EQ(ok_json({"bans", "import", path}).at("imported"), 3);
    const auto after = ok_json({"bans", "export"}).at("bans");
    ASSERT_EQ(after.size(), before.size());
    for (std::size_t i = 0; i < before.size(); ++i) {
        for (const char* field : {"target", "kind", "reason", "expires_at", "origin"}) {
            EXPECT_EQ(after[i].at(field), before[i].at(field)) << field;
        }
    }
    const auto r = pbctl({"bans", "add", "192.0.2.1", "-o", "csv"});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("-o csv"), std::string::npos) << r.err;
    EXPECT_EQ(ok_json({"bans", "check", "192.0.2.1"}).at("banned"), false);
}

// A CSV import with one bad row writes nothing; a good one writes every row.
TEST_F(BansCliTest, CsvImportAllOrNothing) {
    const auto bad = file("bad.csv",
                          "target,for,reason\n"
                          "198.51.100.1,1h,ok\n"
                          "10.0.0.0/33,1h,bad prefix\n");
    const auto r = pbctl({"bans", "import", bad});
    EXPECT_EQ(r.exit_code, 2) << describe({"bans", "import"}, r);
    EXPECT_NE(r.err.find("row 2"), std::string::npos) << r.err;
    EXPECT_EQ(ok_json({"bans", "list", "--include-expired"}).at("bans").size(), 0U);

    const auto good = file("good.csv",
                           "# target,expires_at,reason\n"
                           "198.51.100.1,1h,ok\n"
                           "192.0.2.0/24,,\"range, permanent\"\n");
    EXPECT_EQ(ok({"bans", "import", good, "-q"}), "2\n");
    EXPECT_EQ(pbctl({"bans", "check", "192.0.2.77"}).exit_code, 6);
}

// limits check spends, exits 6 with retry-after when limited; status and reset work.
TEST_F(BansCliTest, LimitsCommands) {
    env["PB_LIMITS_IP_RATE"] = "10/min";
    env["PB_LIMITS_IP_BURST"] = "1";
    const auto first = ok_json({"limits", "check", "198.51.100.4", "--scope", "ip"});
    EXPECT_EQ(first.at("allowed"), true);
    EXPECT_EQ(first.at("limit"), 1);
    EXPECT_EQ(first.at("remaining"), 0);
    EXPECT_EQ(first.at("policy").at("rate"), "10/min");
    // pbctl on the database counts in the database: the next run sees the spend.
    EXPECT_EQ(first.at("counted_in"), "database");
    EXPECT_EQ(ok_json({"limits", "status", "198.51.100.4"}).at("remaining"), 0);
    // A cost above the burst can never pass: bad input.
    EXPECT_EQ(pbctl({"limits", "check", "198.51.100.4", "--cost", "2"}).exit_code, 2);
    ok({"limits", "reset", "198.51.100.4"});
    // A banned identifier is denied by limits check too, with exit 6.
    ok({"bans", "add", "198.51.100.4"});
    const auto r = pbctl({"limits", "check", "198.51.100.4", "-o", "json"});
    EXPECT_EQ(r.exit_code, 6) << describe({"limits", "check"}, r);
    EXPECT_EQ(json::parse(r.out).at("reason"), "banned");
}

}  // namespace
}  // namespace pb::cli::test
