// `pbctl events tail` and `pbctl states watch` in local mode: the outbox of
// the database, followed by polling its change token.
#include <thread>

#include "tests/cli/cli_fixture.hpp"

namespace pb::cli::test {
namespace {

using nlohmann::json;

std::vector<json> json_lines(const std::string& out) {
    std::vector<json> lines;
    std::size_t start = 0;
    while (start < out.size()) {
        const auto end = out.find('\n', start);
        const auto line = out.substr(start, end - start);
        if (!line.empty()) {
            lines.push_back(json::parse(line, nullptr, false));
        }
        if (end == std::string::npos) {
            break;
        }
        start = end + 1;
    }
    return lines;
}

class EventsTail : public PbctlTest {};

TEST_F(EventsTail, ReplaysFromSinceAndFiltersByTopic) {
    const auto a = create_key();
    const auto b = create_key();
    ok({"keys", "revoke", id_of(a)});
    const auto all = json_lines(ok({"events", "tail", "--since", "0", "--count", "3"}));
    ASSERT_EQ(all.size(), 3U);
    EXPECT_EQ(all[0]["event"], "key.created");
    EXPECT_EQ(all[0]["topic"], "keys/" + id_of(a));
    EXPECT_EQ(all[2]["event"], "key.revoked");
    for (std::size_t i = 0; i < all.size(); ++i) {
        EXPECT_EQ(all[i]["seq"], i + 1);
        EXPECT_NE(all[i].dump().find("created_at"), std::string::npos);
        EXPECT_EQ(all[i].dump().find(a), std::string::npos) << "a secret in an event";
    }
    const auto only_a = json_lines(ok(
        {"events", "tail", "--since", "0", "--topic", "keys/" + id_of(a), "--timeout", "300ms"}));
    ASSERT_EQ(only_a.size(), 2U);
    EXPECT_EQ(only_a[1]["event"], "key.revoked");
    const auto after = json_lines(ok({"events", "tail", "--since", "2", "--timeout", "200ms"}));
    ASSERT_EQ(after.size(), 1U);
    EXPECT_EQ(after[0]["seq"], 3);
    (void)b;
}

TEST_F(EventsTail, FollowsChangesMadeByAnotherProcess) {
    create_key();  // makes the database; tail starts after it
    std::vector<std::string> argv{pb::test::pbctl_path(),
                                  "events",
                                  "tail",
                                  "--topic",
                                  "keys",
                                  "--count",
                                  "2",
                                  "--timeout",
                                  "20s"};
    pb::test::Process tail(argv, env, dir.file("tail.out"), dir.file("tail.err"));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const auto a = create_key();
    const auto b = create_key();
    for (int i = 0; i < 200 && tail.running(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_FALSE(tail.running()) << pb::test::read_file(dir.file("tail.err"));
    const auto lines = json_lines(pb::test::read_file(dir.file("tail.out")));
    ASSERT_EQ(lines.size(), 2U) << pb::test::read_file(dir.file("tail.out"));
    EXPECT_EQ(lines[0]["topic"], "keys/" + id_of(a));
    EXPECT_EQ(lines[1]["topic"], "keys/" + id_of(b));
}

TEST_F(EventsTail, BoundsAndBadInput) {
    create_key();
    // Nothing new by the timeout: no output, exit 0; with --count unmet, an error.
    const auto quiet = pbctl({"events", "tail", "--timeout", "200ms"});
    EXPECT_EQ(quiet.exit_code, 0) << quiet.err;
    EXPECT_EQ(quiet.out, "");
    const auto unmet = pbctl({"events", "tail", "--count", "1", "--timeout", "200ms"});
    EXPECT_NE(unmet.exit_code, 0);
    EXPECT_NE(unmet.err.find("timed out after 0 of 1"), std::string::npos) << unmet.err;
    const auto bad_topic = pbctl({"events", "tail", "--topic", "keys/*/x", "--timeout", "1s"});
    EXPECT_EQ(bad_topic.exit_code, 2) << bad_topic.err;
    EXPECT_NE(bad_topic.err.find("'*' may only end a pattern"), std::string::npos);
    const auto bad_timeout = pbctl({"events", "tail", "--timeout", "soon"});
    EXPECT_EQ(bad_timeout.exit_code, 2) << bad_timeout.err;
    const auto ahead = pbctl({"events", "tail", "--since", "99", "--timeout", "1s"});
    EXPECT_EQ(ahead.exit_code, 2) << ahead.err;
    EXPECT_NE(ahead.err.find("past the newest event"), std::string::npos) << ahead.err;
    // The op commands are still there next to the streaming ones.
    EXPECT_EQ(pbctl({"keys", "list"}).exit_code, 0);
    EXPECT_NE(ok({"events", "--help"}).find("tail"), std::string::npos);
}

TEST_F(EventsTail, StatesWatchFollowsOneStateTopic) {
    create_key();
    const auto r = pbctl({"states", "watch", "user_1", "--timeout", "200ms"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_NE(ok({"states", "watch", "--help"}).find("states/ID"), std::string::npos);
}

}  // namespace
}  // namespace pb::cli::test
