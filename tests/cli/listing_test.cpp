#include <chrono>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "tests/cli/cli_fixture.hpp"

namespace pb::cli::test {
namespace {

using nlohmann::json;

class ListingTest : public PbctlTest {
  protected:
    std::vector<std::string> lines(const std::string& text) {
        std::vector<std::string> out;
        std::istringstream in(text);
        for (std::string line; std::getline(in, line);) {
            out.push_back(line);
        }
        return out;
    }
};

// pb's one time format: RFC 3339, UTC, always three digits of milliseconds.
const std::regex k_time(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)");

bool is_time(const json& v) {
    return v.is_string() && std::regex_match(v.get<std::string>(), k_time);
}

// Pins -q on a listing: one id per line, for each kind of list (it printed
// nothing before), and nothing on stderr when the page is the last.
TEST_F(ListingTest, QuietListsPrintOneIdPerLine) {
    const auto a = ok_json({"keys", "create", "--owner", "a"}).at("id").get<std::string>();
    const auto b = ok_json({"keys", "create", "--owner", "b"}).at("id").get<std::string>();
    // Keys made in one millisecond come in id order: compare as a set.
    const auto keys = lines(ok({"keys", "list", "-q"}));
    EXPECT_EQ(std::set<std::string>(keys.begin(), keys.end()), (std::set<std::string>{a, b}));
    EXPECT_EQ(keys.size(), 2U);
    ok({"bans", "add", "192.0.2.9"});
    ok({"bans", "add", "user:mallory"});
    EXPECT_EQ(ok({"bans", "list", "-q"}), "192.0.2.9\nuser:mallory\n");
    EXPECT_EQ(ok({"bans", "export", "-q"}), "192.0.2.9\nuser:mallory\n");
    ok({"states", "register", "s1", "--type", "user"});
    EXPECT_EQ(ok({"states", "list", "-q"}), "s1\n");
    const auto audit = lines(ok({"audit", "list", "-q"}));
    EXPECT_GE(audit.size(), 5U);
    for (const auto& id : audit) {
        EXPECT_FALSE(id.empty());
        EXPECT_EQ(id.find_first_not_of("0123456789"), std::string::npos) << id;
    }
    const auto r = pbctl({"keys", "list", "-q"});
    EXPECT_EQ(r.err, "");
}

// Pins: bans list --include-expired (once --all) shows an expired ban, plain
// bans list does not; --all now reads every page of bans in force.
TEST_F(ListingTest, IncludeExpiredReplacesAll) {
    ok({"bans", "add", "198.51.100.4", "--for", "1s"});
    ok({"bans", "add", "198.51.100.5"});
    bool expired = false;
    for (int i = 0; i < 100 && !expired; ++i) {
        expired = ok_json({"bans", "list"}).at("bans").size() == 1;
        if (!expired) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    }
    ASSERT_TRUE(expired);
    EXPECT_EQ(ok_json({"bans", "list", "--include-expired"}).at("bans").size(), 2U);
    EXPECT_EQ(ok({"bans", "list", "--all", "-q"}), "198.51.100.5\n");
    EXPECT_EQ(ok({"bans", "list", "--all", "--include-expired", "-q"}),
              "198.51.100.4\n198.51.100.5\n");
}

// Pins the page limits: 1 to 1000 (exit 2 naming --limit beyond), and
// a page that is not the last says so on stderr, never silently.
TEST_F(ListingTest, LimitsAreBoundedAndMoreIsSaid) {
    for (int i = 0; i < 3; ++i) {
        ok({"bans", "add", "user:u" + std::to_string(i)});
    }
    for (const char* bad : {"0", "1001", "x"}) {
        const auto r = pbctl({"bans", "list", "--limit", bad});
        EXPECT_EQ(r.exit_code, 2) << bad << ": " << r.err;
        EXPECT_NE(r.err.find("limit"), std::string::npos) << r.err;
    }
    const auto page = pbctl({"bans", "list", "--limit", "2", "-q"});
    ASSERT_EQ(page.exit_code, 0) << page.err;
    EXPECT_EQ(lines(page.out).size(), 2U);
    EXPECT_NE(page.err.find("more bans follow: pass --all, or --cursor "), std::string::npos)
        << page.err;
    const auto cursor = ok_json({"bans", "list", "--limit", "2"}).at("next_cursor");
    ASSERT_TRUE(cursor.is_string());
    const auto rest = ok_json({"bans", "list", "--limit", "2", "--cursor", cursor});
    ASSERT_EQ(rest.at("bans").size(), 1U);
    EXPECT_EQ(rest.at("bans")[0].at("target"), "user:u2");
    EXPECT_TRUE(rest.at("next_cursor").is_null());
    // The help says the default and the maximum.
    const auto help = ok({"bans", "list", "--help"});
    EXPECT_NE(help.find("1 to 1000"), std::string::npos) << help;
    EXPECT_NE(help.find("[default: 100]"), std::string::npos) << help;
}

// Pins the one time format in answers and events: RFC 3339 UTC with
// milliseconds (event created_at and tokens revoke's until were numbers);
// durations as integers named *_ms (a state's ttl_ms).
TEST_F(ListingTest, TimesAreRfc3339WithMillisEverywhere) {
    const auto key = ok_json({"keys", "create", "--owner", "t", "--expires", "1d"});
    EXPECT_TRUE(is_time(key.at("created_at"))) << key.dump();
    EXPECT_TRUE(is_time(key.at("expires_at"))) << key.dump();
    const auto state = ok_json({"states", "register", "s", "--type", "session", "--ttl", "90m"});
    EXPECT_TRUE(is_time(state.at("updated_at"))) << state.dump();
    EXPECT_EQ(state.at("ttl_ms"), 5'400'000);
    EXPECT_FALSE(state.contains("ttl"));
    const auto revoked =
        ok_json({"tokens", "revoke", "--jti", "abc", "--until", "2030-01-02T03:04:05Z"});
    EXPECT_EQ(revoked.at("until"), "2030-01-02T03:04:05.000Z");
    const auto ban = ok_json({"bans", "add", "192.0.2.1", "--for", "1h"});
    EXPECT_TRUE(is_time(ban.at("expires_at"))) << ban.dump();
    std::istringstream events(ok({"events", "tail", "--since", "0", "--timeout", "300ms"}));
    int n = 0;
    for (std::string line; std::getline(events, line); ++n) {
        const auto e = json::parse(line);
        EXPECT_TRUE(is_time(e.at("created_at"))) << line;
        if (e.at("event") == "token.revoked") {
            EXPECT_EQ(e.at("data").at("expires_at"), "2030-01-02T03:04:05.000Z");
        }
    }
    EXPECT_GE(n, 3);
    // The audit log shows a time argument as a time too.
    const auto audit = ok_json({"audit", "list", "--op", "keys.create"}).at("entries");
    ASSERT_EQ(audit.size(), 1U);
    EXPECT_TRUE(is_time(audit[0].at("at"))) << audit.dump();
    EXPECT_EQ(audit[0].at("args").at("expires"), key.at("expires_at")) << audit.dump();
}

}  // namespace
}  // namespace pb::cli::test
