// Durations and points in time through the real pbctl on the database: beyond
// pb's maximum (36500d; 9999-12-31T23:59:59.999Z) they are refused naming the
// parameter and the maximum, with nothing written; the maximum itself works.
#include "tests/cli/cli_fixture.hpp"

namespace pb::cli::test {
namespace {

using nlohmann::json;

const std::string k_too_long =
    ": expected a duration of at most 36500d (100 years) (the longest pb accepts)";
const std::string k_too_far =
    ": expected a time from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z (the latest pb "
    "accepts)";

// The year of an RFC 3339 time.
int year_of(const json& t) {
    return t.is_string() ? std::stoi(t.get<std::string>().substr(0, 4)) : 0;
}

// Pins issue 21 ("time arithmetic that cannot overflow"): a state's --ttl, a
// token's --ttl, a key's --expires and a ban's --for beyond the maximum, up to
// int64's last day (106751991167d) and beyond it, exit 2 naming the flag and
// the maximum; nothing is written.
TEST_F(PbctlTest, TimeBeyondTheMaximumIsRefusedNamingIt) {
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases{
        {{"states", "register", "s1", "--type", "session", "--ttl", "106751991167d"},
         "--ttl" + k_too_long},
        {{"states", "register", "s1", "--type", "session", "--ttl", "36500d1ms"},
         "--ttl" + k_too_long},
        {{"tokens", "issue", "--sub", "u1", "--ttl", "106751991167d"}, "--ttl" + k_too_long},
        {{"tokens", "issue", "--sub", "u1", "--ttl", "99999999999999999999s"},
         "--ttl" + k_too_long},
        {{"keys", "create", "--owner", "ci", "--expires", "106751991167d"},
         "--expires" + k_too_long},
        {{"keys", "create", "--owner", "ci", "--expires", "253402300800000"},
         "--expires" + k_too_far},
        {{"keys", "create", "--owner", "ci", "--expires", "9223372036854775807"},
         "--expires" + k_too_far},
        {{"bans", "add", "198.51.100.1", "--for", "106751991167d"}, "--for" + k_too_long},
        {{"bans", "add", "198.51.100.1", "--for", "36501d"}, "--for" + k_too_long},
    };
    for (const auto& [args, message] : cases) {
        const auto r = pbctl(args);
        EXPECT_EQ(r.exit_code, 2) << describe(args, r);
        EXPECT_NE(r.err.find("pbctl: " + message), std::string::npos) << describe(args, r);
    }
    // Garbage and signs are still "malformed", not "too long".
    const auto garbage = pbctl({"states", "register", "s1", "--type", "session", "--ttl", "1y"});
    EXPECT_EQ(garbage.exit_code, 2);
    EXPECT_NE(garbage.err.find("--ttl: expected a duration like 30s"), std::string::npos)
        << garbage.err;
    EXPECT_EQ(ok_json({"states", "list"}).at("states").size(), 0U);
    EXPECT_EQ(ok_json({"keys", "list"}).at("keys").size(), 0U);
    EXPECT_EQ(ok_json({"bans", "list"}).at("bans").size(), 0U);
}

// The maximum itself is accepted and means what it says: a state alive for a
// century, a token that verifies, a key valid until 9999, a ban for 36500d.
TEST_F(PbctlTest, TheMaximumIsAccepted) {
    const auto state =
        ok_json({"states", "register", "s1", "--type", "session", "--ttl", "36500d"});
    EXPECT_GE(year_of(state.at("expires_at")), 2120) << state.dump();
    EXPECT_EQ(ok_json({"states", "get", "s1"}).at("status"), "active");

    auto token = ok({"tokens", "issue", "--sub", "u1", "--ttl", "36500d", "-q"});
    ASSERT_FALSE(token.empty());
    const auto verified = pbctl({"tokens", "verify", "-", "-o", "json"}, token);
    EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;

    const auto key = create_key({"--expires", "9999-12-31T23:59:59.999Z"});
    EXPECT_EQ(pbctl({"keys", "verify", "-"}, key + "\n").exit_code, 0);
    const auto shown = ok_json({"keys", "show", id_of(key)});
    EXPECT_EQ(year_of(shown.at("expires_at")), 9999) << shown.dump();
    EXPECT_EQ(pbctl({"keys", "verify", "-"}, create_key({"--expires", "36500d"}) + "\n").exit_code,
              0);

    const auto ban = ok_json({"bans", "add", "198.51.100.1", "--for", "36500d"});
    EXPECT_GE(year_of(ban.at("expires_at")), 2120) << ban.dump();
}

}  // namespace
}  // namespace pb::cli::test
