// The WebSocket fan-out (daemon/ws/fanout) on a real outbox, without a
// socket: live events reach the sessions whose patterns match, and a
// subscription with `since` gets the replay, then the events published
// meanwhile, then live ones: each event once, in seq order.
#include <functional>
#include <mutex>
#include <vector>

#include <gtest/gtest.h>

#include "common/core/clock.hpp"
#include "common/core/error.hpp"
#include "common/events/outbox.hpp"
#include "common/store/migrations.hpp"
#include "common/store/store.hpp"
#include "daemon/ws/fanout.hpp"
#include "tests/support/errors.hpp"
#include "tests/support/temp_dir.hpp"

namespace pb::daemon::ws {
namespace {

using nlohmann::json;

// Records the seq of every event frame pushed to it; `on_push` runs after
// each (the test publishes from there, as the tail would meanwhile).
class RecordingSink final : public WsSink {
  public:
    void push(WsFrame frame) override {
        {
            std::lock_guard lock(m_mutex);
            seqs.push_back(json::parse(*frame).at("seq").get<std::int64_t>());
        }
        if (on_push) {
            on_push();
        }
    }
    std::uint64_t queued_bytes() const override { return 0; }
    void drop_slow() override { ++dropped; }
    void going_away() override {}
    void recheck() override {}

    std::vector<std::int64_t> seqs;
    std::function<void()> on_push;
    int dropped = 0;

  private:
    std::mutex m_mutex;
};

class WsFanout : public ::testing::Test {
  protected:
    WsFanout() {
        store = store::open_store(dir.file("pb.db"), {.pool_size = 2});
        store::migrate(*store, SystemClock::instance());
    }
    // Appends an event on `topic` and returns it as the outbox has it.
    events::Event append(const std::string& topic) {
        return store->transaction([&](store::Connection& c) {
            const auto before = events::latest_seq(c);
            events::append(c, topic, "thing.done", {{"topic", topic}}, 1'000);
            return events::read_after(c, before, 1).at(0);
        });
    }
    std::vector<std::int64_t> seqs_of(const std::vector<events::Event>& events) {
        std::vector<std::int64_t> out;
        for (const auto& e : events) {
            out.push_back(e.seq);
        }
        return out;
    }

    test::TempDir dir;
    std::unique_ptr<store::Store> store;
};

// Without `since`, only events published afterwards, and only those whose
// topic matches, reach the session; a session that did not subscribe gets none.
TEST_F(WsFanout, LiveEventsReachMatchingSubscribersOnly) {
    Fanout fanout(*store, 1 << 20);
    fanout.start_at(0);
    auto a = std::make_shared<RecordingSink>();
    auto idle = std::make_shared<RecordingSink>();
    fanout.add(1, a);
    fanout.add(2, idle);
    const auto answer = fanout.subscribe(1, {{"topics", json::array({"states/a*"})}});
    EXPECT_EQ(answer["replayed"], 0);
    const auto e1 = append("states/alpha");
    const auto e2 = append("states/beta");
    const auto e3 = append("states/a");
    fanout.publish({e1, e2, e3});
    EXPECT_EQ(a->seqs, (std::vector<std::int64_t>{e1.seq, e3.seq}));
    EXPECT_TRUE(idle->seqs.empty());
    EXPECT_EQ(fanout.position(), e3.seq);
    EXPECT_EQ(fanout.subscribed_sessions(), 1U);
    EXPECT_EQ(fanout.delivered(), 2U);
    fanout.unsubscribe(1, {{"topics", "states/a*"}});
    fanout.publish({append("states/a")});
    EXPECT_EQ(a->seqs.size(), 2U);
}

// Events published while a replay runs are held for the session and follow
// the replay: the session sees every event of its topic once, in seq order.
TEST_F(WsFanout, ReplayThenHeldThenLiveWithoutLossOrRepeat) {
    std::vector<events::Event> before;
    for (int i = 0; i < 3; ++i) {
        before.push_back(append("states/a"));
    }
    Fanout fanout(*store, 1 << 20);
    fanout.start_at(before.back().seq);  // the tail had published these
    auto sink = std::make_shared<RecordingSink>();
    fanout.add(1, sink);
    std::vector<events::Event> meanwhile;
    sink->on_push = [&] {
        if (meanwhile.empty()) {  // on the first replayed event
            meanwhile = {append("states/a"), append("states/other"), append("states/a")};
            fanout.publish(meanwhile);
        }
    };
    const auto answer = fanout.subscribe(1, {{"topics", json::array({"states/a"})}, {"since", 0}});
    sink->on_push = nullptr;
    EXPECT_EQ(answer["replayed"], 3);
    EXPECT_EQ(answer["position"], before.back().seq);
    const auto later = append("states/a");
    fanout.publish({later});
    EXPECT_EQ(sink->seqs,
              (std::vector<std::int64_t>{before[0].seq, before[1].seq, before[2].seq,
                                         meanwhile[0].seq, meanwhile[2].seq, later.seq}));
}

// A pattern added with `since` does not replay events an established
// pattern already delivered live.
TEST_F(WsFanout, ReplayLeavesOutWhatEstablishedPatternsSent) {
    Fanout fanout(*store, 1 << 20);
    fanout.start_at(0);
    auto sink = std::make_shared<RecordingSink>();
    fanout.add(1, sink);
    fanout.subscribe(1, {{"topics", "states/a"}});
    const auto a = append("states/a");
    const auto b = append("states/b");
    fanout.publish({a, b});
    const auto answer = fanout.subscribe(1, {{"topics", "states"}, {"since", 0}});
    EXPECT_EQ(answer["replayed"], 1);
    EXPECT_EQ(sink->seqs, (std::vector<std::int64_t>{a.seq, b.seq}));
    EXPECT_EQ(answer["topics"], json::array({"states/a", "states"}));
}

// A refused replay (since past the newest event) leaves nothing pending: the
// pattern does not go live, and later events are not held for it.
TEST_F(WsFanout, RefusedReplayLeavesNothingBehind) {
    const auto first = append("states/a");
    Fanout fanout(*store, 1 << 20);
    fanout.start_at(first.seq);
    auto sink = std::make_shared<RecordingSink>();
    fanout.add(1, sink);
    EXPECT_EQ(test::error_code_of([&] {
                  fanout.subscribe(1, {{"topics", "states/a"}, {"since", first.seq + 100}});
              }),
              ErrorCode::invalid_argument);
    fanout.publish({append("states/a")});
    EXPECT_TRUE(sink->seqs.empty());
    EXPECT_EQ(fanout.subscribed_sessions(), 0U);
}

// `since` on a pattern the session follows already replays the events it
// was not sent (from before it followed), first; events published meanwhile
// are held and follow; asked again, nothing is sent twice.
TEST_F(WsFanout, SinceOnAFollowedPatternReplaysWhatItDidNotSend) {
    const auto before = append("states/a");
    Fanout fanout(*store, 1 << 20);
    fanout.start_at(before.seq);
    auto sink = std::make_shared<RecordingSink>();
    fanout.add(1, sink);
    fanout.subscribe(1, {{"topics", "states/a"}});
    const auto had = append("states/a");
    fanout.publish({had});
    std::vector<events::Event> meanwhile;
    sink->on_push = [&] {
        if (meanwhile.empty()) {
            meanwhile = {append("states/a")};
            fanout.publish(meanwhile);
        }
    };
    const auto answer = fanout.subscribe(1, {{"topics", "states/a"}, {"since", 0}});
    sink->on_push = nullptr;
    EXPECT_EQ(answer["replayed"], 1);
    EXPECT_EQ(answer["topics"], json::array({"states/a"}));
    EXPECT_EQ(sink->seqs, (std::vector<std::int64_t>{had.seq, before.seq, meanwhile[0].seq}));
    EXPECT_EQ(fanout.subscribe(1, {{"topics", "states/a"}, {"since", 0}})["replayed"], 0);
    const auto later = append("states/a");
    fanout.publish({later});
    EXPECT_EQ(sink->seqs.size(), 4U);
    EXPECT_EQ(sink->seqs.back(), later.seq);
}

// A refused replay of a followed pattern leaves it followed.
TEST_F(WsFanout, RefusedReplayOfAFollowedPatternKeepsItLive) {
    const auto first = append("states/a");
    Fanout fanout(*store, 1 << 20);
    fanout.start_at(first.seq);
    auto sink = std::make_shared<RecordingSink>();
    fanout.add(1, sink);
    fanout.subscribe(1, {{"topics", "states/a"}});
    EXPECT_EQ(test::error_code_of([&] {
                  fanout.subscribe(1, {{"topics", "states/a"}, {"since", first.seq + 100}});
              }),
              ErrorCode::invalid_argument);
    const auto next = append("states/a");
    fanout.publish({next});
    EXPECT_EQ(sink->seqs, (std::vector<std::int64_t>{next.seq}));
    EXPECT_EQ(fanout.subscribed_sessions(), 1U);
}

// Bad arguments and a closed session are errors with their codes.
TEST_F(WsFanout, BadArgumentsAndClosedSessions) {
    Fanout fanout(*store, 1 << 20);
    fanout.start_at(0);
    auto sink = std::make_shared<RecordingSink>();
    fanout.add(1, sink);
    EXPECT_EQ(test::error_code_of([&] { fanout.subscribe(1, json::object()); }),
              ErrorCode::invalid_argument);
    EXPECT_EQ(test::error_code_of([&] {
                  fanout.subscribe(1, {{"topics", json::array({1})}});
              }),
              ErrorCode::invalid_argument);
    EXPECT_EQ(test::error_code_of([&] {
                  fanout.subscribe(1, {{"topics", "states/a"}, {"since", "x"}});
              }),
              ErrorCode::invalid_argument);
    fanout.remove(1);
    EXPECT_EQ(test::error_code_of([&] {
                  fanout.subscribe(1, {{"topics", "states/a"}});
              }),
              ErrorCode::unavailable);
}

}  // namespace
}  // namespace pb::daemon::ws
