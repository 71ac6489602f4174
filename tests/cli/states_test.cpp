// pbctl states … against the database, through the real binary.
#include <chrono>
#include <fstream>
#include <thread>

#include "tests/cli/cli_fixture.hpp"

namespace pb::cli::test {
namespace {

using nlohmann::json;

class StatesCliTest : public PbctlTest {
  protected:
    std::string file(const std::string& name, const std::string& text) {
        std::ofstream(dir.file(name)) << text;
        return dir.file(name);
    }

    int exit_of(const std::vector<std::string>& args, const std::string& stdin_text = "") {
        return pbctl(args, stdin_text).exit_code;
    }

    std::size_t history_size(const std::string& id) {
        return ok_json({"states", "history", id}).at("history").size();
    }
};

// Pins the issue's walk-through: register with an allowed list, get, merge
// update, conditional update from a file (and the 409 exit 5 when stale),
// history newest first, list with filters, delete.
TEST_F(StatesCliTest, WalkThrough) {
    const auto reg = ok_json({"states", "register", "user_123_session", "--type", "session",
                              "--data", R"({"user_id":"123"})", "--allow", "update", "--allow",
                              "delete", "--allow", "expire"});
    EXPECT_EQ(reg.at("version"), 1);
    EXPECT_EQ(reg.at("status"), "active");
    EXPECT_EQ(reg.at("allowed_transitions"), json::array({"update", "delete", "expire"}));
    EXPECT_TRUE(reg.at("created_by").get<std::string>().starts_with("local:"));

    const auto got = ok_json({"states", "get", "user_123_session"});
    EXPECT_EQ(got.at("data"), (json{{"user_id", "123"}}));
    EXPECT_EQ(got.at("type"), "session");
    EXPECT_TRUE(got.at("updated_at").is_string());
    EXPECT_EQ(ok({"states", "get", "user_123_session", "-q"}), "active\n");

    auto upd = ok_json({"states", "update", "user_123_session", "--data",
                        R"({"last_activity":"2024-01-01T11:00:00Z"})"});
    EXPECT_EQ(upd.at("version"), 2);
    EXPECT_EQ(upd.at("data").at("user_id"), "123");

    const auto path = file("state.json", R"({"user_id":"123","cart":[1,2]})");
    upd = ok_json({"states", "update", "user_123_session", "--data", "@" + path, "--replace",
                   "--if-version", "2"});
    EXPECT_EQ(upd.at("version"), 3);
    EXPECT_EQ(upd.at("data"), (json{{"user_id", "123"}, {"cart", {1, 2}}}));

    const auto stale =
        pbctl({"states", "update", "user_123_session", "--data", "@" + path, "--if-version", "2"});
    EXPECT_EQ(stale.exit_code, 5) << stale.err;
    EXPECT_NE(stale.err.find("version 3"), std::string::npos) << stale.err;
    // suspend is not in this state's list: conflict, exit 5.
    EXPECT_EQ(exit_of({"states", "transition", "user_123_session", "suspend"}), 5);

    const auto hist = ok_json({"states", "history", "user_123_session", "--limit", "2"});
    ASSERT_EQ(hist.at("history").size(), 2U);
    EXPECT_EQ(hist.at("history")[0].at("version"), 3);
    EXPECT_EQ(hist.at("history")[1].at("version"), 2);
    EXPECT_EQ(hist.at("history")[1].at("transition"), "update");
    EXPECT_TRUE(hist.at("history")[0].at("actor").get<std::string>().starts_with("local:"));

    ok({"states", "register", "feature_x", "--type", "feature"});
    const auto sessions = ok_json({"states", "list", "--type", "session", "--status", "active"});
    ASSERT_EQ(sessions.at("states").size(), 1U);
    EXPECT_EQ(sessions.at("states")[0].at("id"), "user_123_session");
    EXPECT_TRUE(sessions.at("next_cursor").is_null());
    const auto table = ok({"states", "list"});
    EXPECT_NE(table.find("feature_x"), std::string::npos) << table;
    EXPECT_NE(table.find("STATUS"), std::string::npos) << table;

    ok({"states", "delete", "user_123_session"});
    EXPECT_EQ(exit_of({"states", "get", "user_123_session"}), 4);
    EXPECT_EQ(history_size("user_123_session"), 4U);  // history outlives the state
}

// Pins transitions through pbctl, each printing the new status with -q.
TEST_F(StatesCliTest, Transitions) {
    ok({"states", "register", "acct", "--type", "subscription"});
    EXPECT_EQ(ok({"states", "transition", "acct", "suspend", "-q"}), "suspended\n");
    EXPECT_EQ(exit_of({"states", "transition", "acct", "suspend"}), 5);
    EXPECT_EQ(ok({"states", "transition", "acct", "resume", "-q"}), "active\n");
    EXPECT_EQ(ok({"states", "transition", "acct", "deactivate", "-q"}), "inactive\n");
    EXPECT_EQ(ok({"states", "transition", "acct", "activate", "-q"}), "active\n");
    EXPECT_EQ(ok({"states", "transition", "acct", "expire", "-q"}), "expired\n");
    EXPECT_EQ(exit_of({"states", "update", "acct", "--data", "{}"}), 5);
    EXPECT_EQ(ok({"states", "transition", "acct", "renew", "--ttl", "1h", "-q"}), "active\n");
    EXPECT_EQ(ok_json({"states", "get", "acct"}).at("ttl_ms"), 3'600'000);
    EXPECT_EQ(exit_of({"states", "transition", "acct", "explode"}), 2);
    EXPECT_EQ(exit_of({"states", "transition", "acct", "suspend", "--if-version", "1"}), 5);
    EXPECT_EQ(ok_json({"states", "get", "acct"}).at("version"), 7);
}

// Pins the exit code of each bad call, and that none of them changes anything.
TEST_F(StatesCliTest, BadInputExitsAndChangesNothing) {
    ok({"states", "register", "s1", "--type", "user", "--data", R"({"a":1})"});
    const auto before = ok_json({"states", "get", "s1"});
    EXPECT_EQ(exit_of({"states", "register", "s1", "--type", "user"}), 5);
    EXPECT_EQ(exit_of({"states", "register", "s2", "--type", "planet"}), 2);
    EXPECT_EQ(exit_of({"states", "register", "s2"}), 2);  // --type is required
    EXPECT_EQ(exit_of({"states", "register", "bad id", "--type", "user"}), 2);
    EXPECT_EQ(exit_of({"states", "register", "s2", "--type", "user", "--data", "{nope"}), 2);
    EXPECT_EQ(exit_of({"states", "register", "s2", "--type", "user", "--allow", "fly"}), 2);
    EXPECT_EQ(exit_of({"states", "register", "s2", "--type", "user", "--ttl", "soon"}), 2);
    EXPECT_EQ(exit_of({"states", "update", "s1", "--data", "[1,2]"}), 2);
    EXPECT_EQ(exit_of({"states", "update", "s1", "--data", "@" + dir.file("missing.json")}), 2);
    EXPECT_EQ(exit_of({"states", "update", "s1"}), 2);
    EXPECT_EQ(exit_of({"states", "update", "nope", "--data", "{}"}), 4);
    EXPECT_EQ(exit_of({"states", "delete", "nope"}), 4);
    EXPECT_EQ(exit_of({"states", "history", "nope"}), 4);
    EXPECT_EQ(exit_of({"states", "list", "--status", "sleepy"}), 2);
    EXPECT_EQ(exit_of({"states", "list", "--cursor", "garbage!"}), 2);
    EXPECT_EQ(exit_of({"states", "delete", "s1", "--if-version", "9"}), 5);
    EXPECT_EQ(ok_json({"states", "get", "s1"}), before);
    EXPECT_EQ(history_size("s1"), 1U);
    EXPECT_EQ(exit_of({"states", "get", "s2"}), 4);
}

// Pins --data - (stdin) and paging with --cursor through the CLI.
TEST_F(StatesCliTest, StdinDataAndPaging) {
    const auto r = pbctl({"states", "register", "p0", "--type", "resource", "--data", "-"},
                         R"({"from":"stdin"})");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (const auto* id : {"p1", "p2", "p3", "p4"}) {
        ok({"states", "register", id, "--type", "resource"});
    }
    EXPECT_EQ(ok_json({"states", "get", "p0"}).at("data").at("from"), "stdin");
    std::vector<std::string> seen;
    std::vector<std::string> args{"states", "list", "--limit", "2"};
    for (int page = 0; page < 5; ++page) {
        const auto j = ok_json(args);
        for (const auto& s : j.at("states")) {
            seen.push_back(s.at("id"));
        }
        if (j.at("next_cursor").is_null()) {
            break;
        }
        args = {"states", "list", "--limit", "2", "--cursor", j.at("next_cursor")};
    }
    EXPECT_EQ(seen, (std::vector<std::string>{"p0", "p1", "p2", "p3", "p4"}));
    // A page that is not the last says so on stderr; --all reads them all.
    const auto table = pbctl({"states", "list", "--limit", "2"});
    EXPECT_EQ(table.exit_code, 0) << table.err;
    EXPECT_NE(table.err.find("pass --all, or --cursor "), std::string::npos) << table.err;
    EXPECT_EQ(table.out.find("more"), std::string::npos) << table.out;
    EXPECT_EQ(ok({"states", "list", "--limit", "2", "--all", "-q"}), "p0\np1\np2\np3\np4\n");
}

// Pins --ttl: the state reads as expired once due, with no daemon running,
// and its history ends with the expiry by system:expiry.
TEST_F(StatesCliTest, TtlExpiresWithoutADaemon) {
    ok({"states", "register", "tmp", "--type", "session", "--ttl", "1s"});
    std::string status;
    for (int i = 0; i < 100 && status != "expired"; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        status = ok_json({"states", "get", "tmp"}).at("status");
    }
    EXPECT_EQ(status, "expired");
    const auto h = ok_json({"states", "history", "tmp"}).at("history");
    ASSERT_EQ(h.size(), 2U);
    EXPECT_EQ(h[0].at("transition"), "expire");
    EXPECT_EQ(h[0].at("actor"), "system:expiry");
    EXPECT_EQ(ok_json({"states", "list", "--status", "expired"}).at("states").size(), 1U);
}

}  // namespace
}  // namespace pb::cli::test
