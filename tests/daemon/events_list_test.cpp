#include <set>

#include <gtest/gtest.h>

#include "tests/daemon/daemon_fixture.hpp"

namespace pb::test {
namespace {

using nlohmann::json;

// Pins: GET /v1/events pages through the outbox with limit and cursor,
// oldest first, each event once, until next_cursor is null; a topic pattern
// keeps only its events; pbctl follows the cursor with --all and agrees.
TEST(EventsList, PagesThroughTheOutboxByCursor) {
    TempDir dir;
    RunningDaemon pbd(dir);
    auto c = pbd.client();
    const auto admin = pbd.bootstrap_key();
    for (int i = 0; i < 7; ++i) {
        const json body{{"id", "s" + std::to_string(i)}, {"type", "feature"}};
        ASSERT_EQ(status_of(c->Post("/v1/states", bearer(admin), body.dump(), "application/json")),
                  201);
    }
    std::vector<std::int64_t> seqs;
    std::set<std::string> topics;
    std::string cursor;
    for (int page = 0; page < 20; ++page) {
        const auto res =
            c->Get("/v1/events?topic=states&limit=3" + (cursor.empty() ? "" : "&cursor=" + cursor),
                   bearer(admin));
        ASSERT_EQ(status_of(res), 200) << (res ? res->body : "");
        const auto body = body_json(res);
        EXPECT_LE(body["events"].size(), 3U);
        for (const auto& e : body["events"]) {
            seqs.push_back(e["seq"].get<std::int64_t>());
            topics.insert(e["topic"].get<std::string>());
        }
        if (body["next_cursor"].is_null()) {
            break;
        }
        cursor = body["next_cursor"].get<std::string>();
    }
    EXPECT_EQ(topics.size(), 7U);
    EXPECT_TRUE(std::is_sorted(seqs.begin(), seqs.end()));
    EXPECT_EQ(std::set<std::int64_t>(seqs.begin(), seqs.end()).size(), seqs.size());
    for (const auto& t : topics) {
        EXPECT_EQ(t.rfind("states/", 0), 0U) << t;
    }
    const auto all = run({pbctl_path(), "--server", pbd.url(), "-o", "json", "events", "list",
                          "--topic", "states", "--limit", "2", "--all"},
                         {{"PB_API_KEY", admin}});
    ASSERT_EQ(all.exit_code, 0) << all.err;
    EXPECT_EQ(json::parse(all.out)["events"].size(), seqs.size()) << all.out;
}

// Pins: the list needs events:read (a states:read key is refused with 403 and
// the permission named); a malformed pattern or cursor is 400.
TEST(EventsList, NeedsEventsReadAndRefusesBadInput) {
    TempDir dir;
    RunningDaemon pbd(dir);
    auto c = pbd.client();
    const auto admin = pbd.bootstrap_key();
    const auto reader = body_json(c->Post("/v1/keys", bearer(admin),
                                          R"({"owner":"r","permissions":["states:read"]})",
                                          "application/json"))["key"]
                            .get<std::string>();
    EXPECT_EQ(status_of(c->Get("/v1/events")), 401);
    const auto refused = c->Get("/v1/events", bearer(reader));
    EXPECT_EQ(status_of(refused), 403);
    EXPECT_EQ(body_json(refused)["permission"], "events:read") << refused->body;
    for (const std::string q : {"topic=a*b", "topic=", "cursor=garbage", "limit=0", "since=-1"}) {
        SCOPED_TRACE(q);
        EXPECT_EQ(status_of(c->Get("/v1/events?" + q, bearer(admin))), 400);
    }
}

}  // namespace
}  // namespace pb::test
