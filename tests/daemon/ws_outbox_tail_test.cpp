// The WebSocket side's outbox tail (daemon/ws/outbox_tail) on a real outbox,
// without a socket: announced events and outbox reads merge into batches in
// seq order, each event once; the next seq announced goes out without a read.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

#include <gtest/gtest.h>

#include "common/core/clock.hpp"
#include "common/events/outbox.hpp"
#include "common/store/migrations.hpp"
#include "common/store/store.hpp"
#include "daemon/ws/outbox_tail.hpp"
#include "tests/support/temp_dir.hpp"

namespace pb::daemon::ws {
namespace {

constexpr auto k_patience = std::chrono::seconds(30);

class WsOutboxTail : public ::testing::Test {
  protected:
    WsOutboxTail() {
        store = store::open_store(dir.file("pb.db"), {.pool_size = 2});
        store::migrate(*store, SystemClock::instance());
    }
    events::Event append(const std::string& topic) {
        return store->transaction([&](store::Connection& c) {
            const auto before = events::latest_seq(c);
            events::append(c, topic, "thing.done", {}, 1'000);
            return events::read_after(c, before, 1).at(0);
        });
    }
    // Starts `tail` after `position`; it wakes only when poked or offered
    // (a poll interval of an hour), so each step below is one wake-up.
    void start(OutboxTail& tail, std::int64_t position) {
        tail.start(
            position,
            [this](const std::vector<events::Event>& batch) {
                std::lock_guard lock(mutex);
                for (const auto& e : batch) {
                    seqs.push_back(e.seq);
                }
                cv.notify_all();
            },
            [] {});
    }
    bool wait_for_count(std::size_t n) {
        std::unique_lock lock(mutex);
        return cv.wait_for(lock, k_patience, [&] { return seqs.size() >= n; });
    }

    test::TempDir dir;
    std::unique_ptr<store::Store> store;
    std::mutex mutex;
    std::condition_variable cv;
    std::vector<std::int64_t> seqs;
};

// Announced events after a missing seq wait for it; the outbox read brings
// it, and the announced copies are not handed on a second time.
TEST_F(WsOutboxTail, AnnouncedAfterAGapWaitForTheOutbox) {
    const auto start_at = append("states/a").seq;
    OutboxTail tail(*store, std::chrono::hours(1));
    start(tail, start_at);
    const auto e1 = append("states/a");
    const auto e2 = append("states/a");
    const auto e3 = append("states/a");
    tail.offer(e3);
    tail.offer(e2);
    ASSERT_TRUE(wait_for_count(3));
    tail.stop();
    EXPECT_EQ(seqs, (std::vector<std::int64_t>{e1.seq, e2.seq, e3.seq}));
    EXPECT_EQ(tail.announced(), 0U);
}

// The next seq announced goes out as announced, without an outbox read (here
// it was never committed, so only the announcement can have brought it).
TEST_F(WsOutboxTail, NextSeqAnnouncedGoesOutWithoutARead) {
    const auto last = append("states/a");
    OutboxTail tail(*store, std::chrono::hours(1));
    start(tail, last.seq);
    events::Event next = last;
    next.seq = last.seq + 1;
    tail.offer(next);
    tail.offer(next);  // a duplicate is dropped by seq
    ASSERT_TRUE(wait_for_count(1));
    tail.poke();
    tail.stop();
    EXPECT_EQ(seqs, (std::vector<std::int64_t>{next.seq}));
    EXPECT_EQ(tail.announced(), 1U);
}

// poke() reads what was committed since, in seq order.
TEST_F(WsOutboxTail, PokeReadsCommittedEvents) {
    OutboxTail tail(*store, std::chrono::hours(1));
    start(tail, 0);
    const auto a = append("states/a");
    const auto b = append("keys/x");
    tail.poke();
    ASSERT_TRUE(wait_for_count(2));
    tail.stop();
    EXPECT_EQ(seqs, (std::vector<std::int64_t>{a.seq, b.seq}));
}

}  // namespace
}  // namespace pb::daemon::ws
