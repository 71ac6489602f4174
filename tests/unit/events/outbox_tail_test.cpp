// The outbox read forward (Tailer), topic patterns, retention and resume checks.
#include <gtest/gtest.h>

#include "common/core/error.hpp"
#include "common/events/tailer.hpp"
#include "common/events/topics.hpp"
#include "common/store/migrations.hpp"
#include "tests/support/temp_dir.hpp"

namespace pb::events {
namespace {

class Outbox : public ::testing::Test {
  protected:
    Outbox() {
        writer = store::open_store(dir.file("pb.db"), {.pool_size = 1});
        store::migrate(*writer, SystemClock::instance());
        reader = store::open_store(dir.file("pb.db"), {.pool_size = 1});
    }
    void add(const std::string& topic, UnixMillis at) {
        writer->transaction([&](store::Connection& c) {
            append(c, topic, "thing.done", {{"topic", topic}}, at);
        });
    }
    test::TempDir dir;
    std::unique_ptr<store::Store> writer;
    std::unique_ptr<store::Store> reader;
};

TEST(Topics, ExactSegmentPrefixAndStar) {
    EXPECT_TRUE(topic_matches("states/user_1", "states/user_1"));
    EXPECT_FALSE(topic_matches("states/user_1", "states/user_10"));
    EXPECT_TRUE(topic_matches("keys", "keys/abc"));
    EXPECT_TRUE(topic_matches("keys", "keys"));
    EXPECT_FALSE(topic_matches("keys", "keysmith/abc"));
    EXPECT_TRUE(topic_matches("states/user_*", "states/user_10"));
    EXPECT_FALSE(topic_matches("states/user_*", "states/admin"));
    EXPECT_TRUE(topic_matches("*", "bans"));
    EXPECT_EQ(read_permission("keys/abc"), "keys:read");
    EXPECT_EQ(read_permission("bans"), "bans:read");
    EXPECT_EQ(read_permission("*"), "events:read");
    EXPECT_EQ(read_permission("st*"), "events:read");
    EXPECT_EQ(read_permission("states/u*"), "states:read");
    for (const auto* bad : {"", "a b", "a*/b", "**x", "tab\there"}) {
        EXPECT_THROW(check_pattern(bad), Error) << bad;
    }
    EXPECT_THROW(check_pattern(std::string(201, 'a')), Error);
    EXPECT_NO_THROW(check_pattern("states/user_*"));
}

TEST_F(Outbox, TailerSeesCommitsOfAnotherStoreOnceEach) {
    add("keys/a", 1);
    Tailer tail(*reader, 0);
    std::vector<std::int64_t> seen;
    const auto collect = [&](const Event& e) { seen.push_back(e.seq); };
    EXPECT_EQ(tail.poll(collect), 1U);
    EXPECT_EQ(tail.poll(collect), 0U);
    add("keys/b", 2);
    add("bans", 3);
    EXPECT_EQ(tail.poll(collect), 2U);
    EXPECT_EQ(seen, (std::vector<std::int64_t>{1, 2, 3}));
    EXPECT_EQ(tail.position(), 3);
    // More than one batch in one poll.
    for (int i = 0; i < 2500; ++i) {
        add("keys/c", 4);
    }
    EXPECT_EQ(tail.poll(collect), 2500U);
    EXPECT_EQ(seen.back(), 2503);
}

TEST_F(Outbox, PruneKeepsTheNewestAndResumeTellsAGap) {
    for (int i = 1; i <= 5; ++i) {
        add("keys/a", i * 1000);
    }
    // Older than 3500: seqs 1..3, in batches of 2.
    EXPECT_EQ(writer->transaction([](store::Connection& c) { return prune(c, 3500, 2); }), 2);
    EXPECT_EQ(writer->transaction([](store::Connection& c) { return prune(c, 3500, 2); }), 1);
    EXPECT_EQ(writer->transaction([](store::Connection& c) { return prune(c, 3500, 2); }), 0);
    // Everything is old: all but the newest go.
    EXPECT_EQ(writer->transaction([](store::Connection& c) { return prune(c, 99'999, 100); }), 1);
    writer->transaction([](store::Connection& c) {
        EXPECT_EQ(oldest_seq(c), 5);
        EXPECT_EQ(latest_seq(c), 5);
        EXPECT_NO_THROW(check_resume(c, 0));
        EXPECT_NO_THROW(check_resume(c, 4));
        EXPECT_NO_THROW(check_resume(c, 5));
        try {
            check_resume(c, 3);
            ADD_FAILURE() << "no gap reported";
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::not_found);
            EXPECT_EQ(e.details()["reason"], "pruned");
            EXPECT_EQ(e.details()["oldest_seq"], 5);
        }
        EXPECT_THROW(check_resume(c, 6), Error);
        EXPECT_THROW(check_resume(c, -1), Error);
    });
    // Seqs are not reused after a prune.
    add("keys/a", 6000);
    writer->transaction([](store::Connection& c) { EXPECT_EQ(latest_seq(c), 6); });
}

TEST_F(Outbox, PageOfARareTopicHoldsLimitEventsNotAnEmptyPage) {
    add("keys/a", 1);
    add("keys/b", 2);
    add("states/s1", 3);
    add("keys/c", 4);
    add("states/s2", 5);
    add("states/s3", 6);
    const auto page = [&](std::int64_t after, int limit) {
        return reader->transaction(
            [&](store::Connection& c) { return read_page(c, after, limit, "states", 99'999); });
    };
    const auto first = page(0, 2);
    ASSERT_EQ(first.events.size(), 2U);
    EXPECT_EQ(first.events[0].seq, 3);
    EXPECT_EQ(first.events[1].seq, 5);
    EXPECT_EQ(first.position, 5);  // the next page starts after the last event given
    EXPECT_TRUE(first.more);
    const auto second = page(first.position, 2);
    ASSERT_EQ(second.events.size(), 1U);
    EXPECT_EQ(second.events[0].seq, 6);
    EXPECT_FALSE(second.more);
    // A topic with no events scans a bounded number of rows, then gives a
    // position further on to go on from.
    for (int i = 0; i < k_page_scan_max + 10; ++i) {
        add("keys/many", 7);
    }
    const auto none = page(second.position, 2);
    EXPECT_TRUE(none.events.empty());
    EXPECT_TRUE(none.more);
    EXPECT_EQ(none.position, second.position + k_page_scan_max);
    const auto rest = page(none.position, 2);
    EXPECT_TRUE(rest.events.empty());
    EXPECT_FALSE(rest.more);
    EXPECT_EQ(rest.position, 6 + k_page_scan_max + 10);
}

TEST_F(Outbox, EventJsonIsWhatSubscribersSee) {
    add("states/s1", 42);
    const auto events =
        reader->transaction([](store::Connection& c) { return read_after(c, 0, 10); });
    ASSERT_EQ(events.size(), 1U);
    const auto j = to_json(events[0]);
    EXPECT_EQ(j["event"], "thing.done");
    EXPECT_EQ(j["topic"], "states/s1");
    EXPECT_EQ(j["seq"], 1);
    EXPECT_EQ(j["created_at"], "1970-01-01T00:00:00.042Z");
    EXPECT_EQ(j["data"]["topic"], "states/s1");
    // What a daemon announces over Redis reads back as the same event.
    const auto back = event_from_json(j);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->created_at, 42);
    EXPECT_EQ(back->seq, 1);
}

}  // namespace
}  // namespace pb::events
