#include <set>

#include <gtest/gtest.h>

#include "tests/daemon/daemon_fixture.hpp"

namespace pb::test {
namespace {

using nlohmann::json;

json get(RunningDaemon& pbd, const std::string& key, const std::string& query) {
    const auto res = pbd.client()->Get("/v1/bans/stream" + query, bearer(key));
    EXPECT_EQ(status_of(res), 200) << (res ? res->body : "no answer");
    return body_json(res);
}

// Pins: a replica reads the bans in force a page at a time (2,500 bans,
// pages of 1,000, each ban once) with the outbox position they were read at,
// then follows what changed after it by holding that position itself; two
// replicas at different positions each get every change.
TEST(BansStream, StartupPagesThenChangesSinceTheClientsPosition) {
    TempDir dir;
    RunningDaemon pbd(dir, DaemonOptions{.env = {{"PB_LIMITS_IP_RATE", "off"}}});
    const auto admin = pbd.bootstrap_key();
    const auto reader = body_json(pbd.client()->Post(
        "/v1/keys", bearer(admin), R"({"owner":"fw","permissions":["bans:read"]})",
        "application/json"))["key"]
                            .get<std::string>();
    json doc{{"bans", json::array()}};
    for (int i = 0; i < 2500; ++i) {
        doc["bans"].push_back(
            {{"target", "10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250)},
             {"reason", "seed"}});
    }
    ASSERT_EQ(status_of(pbd.client()->Post("/v1/bans/import", bearer(admin),
                                           json{{"document", doc}}.dump(), "application/json")),
              200);
    std::set<std::string> seen;
    std::int64_t since = -1;
    std::string cursor;
    for (int page = 0; page < 10; ++page) {
        const auto body =
            get(pbd, reader, "?limit=1000" + (cursor.empty() ? "" : "&cursor=" + cursor));
        EXPECT_LE(body["bans"].size(), 1000U);
        for (const auto& b : body["bans"]) {
            EXPECT_TRUE(seen.insert(b["target"].get<std::string>()).second) << b.dump();
        }
        if (since >= 0) {
            EXPECT_EQ(body["since"], since) << "every page names the first page's position";
        }
        since = body["since"].get<std::int64_t>();
        if (body["next_cursor"].is_null()) {
            break;
        }
        cursor = body["next_cursor"].get<std::string>();
    }
    EXPECT_EQ(seen.size(), 2500U);

    // Nothing changed yet; then a ban and a removal, seen by a replica at
    // `since` and by one that caught up in between.
    EXPECT_TRUE(get(pbd, reader, "?since=" + std::to_string(since))["changes"].empty());
    ASSERT_EQ(run({pbctl_path(), "bans", "add", "203.0.113.9"}, {{"PB_DB", pbd.db()}}).exit_code,
              0);
    const auto first = get(pbd, reader, "?since=" + std::to_string(since));
    ASSERT_EQ(first["changes"].size(), 1U) << first.dump();
    EXPECT_EQ(first["changes"][0]["data"]["target"], "203.0.113.9");
    const auto caught_up = first["since"].get<std::int64_t>();
    ASSERT_EQ(run({pbctl_path(), "bans", "remove", "203.0.113.9"}, {{"PB_DB", pbd.db()}}).exit_code,
              0);
    const auto behind = get(pbd, reader, "?since=" + std::to_string(since));
    EXPECT_EQ(behind["changes"].size(), 2U) << behind.dump();
    const auto ahead = get(pbd, reader, "?since=" + std::to_string(caught_up));
    ASSERT_EQ(ahead["changes"].size(), 1U) << ahead.dump();
    EXPECT_NE(ahead["changes"][0]["event"], "ban.added");

    // pbctl reads the same stream, on the database and through pbd.
    for (const auto& r :
         {run({pbctl_path(), "-o", "json", "bans", "stream", "--since", std::to_string(since)},
              {{"PB_DB", pbd.db()}}),
          run({pbctl_path(), "--server", pbd.url(), "-o", "json", "bans", "stream", "--since",
               std::to_string(since)},
              {{"PB_API_KEY", reader}})}) {
        ASSERT_EQ(r.exit_code, 0) << r.err;
        EXPECT_EQ(json::parse(r.out)["changes"].size(), 2U) << r.out;
    }
}

// Pins: the stream needs bans:read; a bad position or cursor is 400.
TEST(BansStream, NeedsBansReadAndRefusesBadInput) {
    TempDir dir;
    RunningDaemon pbd(dir);
    auto c = pbd.client();
    const auto admin = pbd.bootstrap_key();
    const auto other = body_json(c->Post("/v1/keys", bearer(admin),
                                         R"({"owner":"o","permissions":["states:read"]})",
                                         "application/json"))["key"]
                           .get<std::string>();
    EXPECT_EQ(status_of(c->Get("/v1/bans/stream")), 401);
    EXPECT_EQ(status_of(c->Get("/v1/bans/stream", bearer(other))), 403);
    for (const std::string q : {"since=-1", "since=x", "cursor=nope", "limit=0"}) {
        SCOPED_TRACE(q);
        EXPECT_EQ(status_of(c->Get("/v1/bans/stream?" + q, bearer(admin))), 400);
    }
}

}  // namespace
}  // namespace pb::test
