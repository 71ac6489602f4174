// Events announced on Redis pub/sub: what one process commits reaches
// another's listeners, and a lost subscription is restored and resynced.
#include "common/redis/event_bus.hpp"

#include <condition_variable>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "common/core/clock.hpp"
#include "common/core/error.hpp"
#include "common/events/follower.hpp"
#include "common/store/migrations.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/test_db.hpp"

namespace pb::redis {
namespace {

using pb::test::RedisServer;

ClientOptions options_for(const std::string& url) {
    ClientOptions o;
    o.connect.url = parse_redis_url(url);
    o.connect.command_timeout = std::chrono::milliseconds(500);
    o.backoff_max = std::chrono::milliseconds(200);
    return o;
}

// Collects what a listener receives; waits for a count with a bound.
class Received {
  public:
    void add(const events::Event& e) {
        std::lock_guard lock(m_mutex);
        m_events.push_back(e);
        m_cv.notify_all();
    }
    bool wait_for(std::size_t n) {
        std::unique_lock lock(m_mutex);
        return m_cv.wait_for(lock, std::chrono::seconds(5), [&] { return m_events.size() >= n; });
    }
    std::vector<events::Event> events() {
        std::lock_guard lock(m_mutex);
        return m_events;
    }

  private:
    std::mutex m_mutex;
    std::condition_variable m_cv;
    std::vector<events::Event> m_events;
};

template <class F>
bool eventually(F&& pred) {
    for (int i = 0; i < 500; ++i) {
        if (pred()) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
}

class EventBusTest : public ::testing::Test {
  protected:
    EventBusTest() : db(pb::test::Backend::sqlite) {
        store = store::open_store(db.url(), {});
        store::migrate(*store, clock);
    }

    void append(store::Store& s, const std::string& topic) {
        s.transaction([&](store::Connection& c) {
            events::append(c, topic, "thing.changed", {{"n", 1}}, clock.now());
        });
    }

    RedisServer server;
    pb::test::TestDb db;
    ManualClock clock;
    std::unique_ptr<store::Store> store;
};

TEST_F(EventBusTest, CommittedEventsReachAnotherProcessesListenerInOrder) {
    Client listener_client(options_for(server.url()));
    EventBus listener(listener_client);
    Received got;
    listener.on_event([&](const events::Event& e) { got.add(e); });
    listener.listen();
    ASSERT_TRUE(eventually([&] { return listener.listening(); }));

    Client publisher_client(options_for(server.url()));
    EventBus publisher(publisher_client);
    store->set_publisher(&publisher);
    for (int i = 0; i < 20; ++i) {
        append(*store, "things/" + std::to_string(i));
    }
    ASSERT_TRUE(got.wait_for(20));
    const auto events = got.events();
    for (std::size_t i = 0; i < events.size(); ++i) {
        EXPECT_EQ(events[i].seq, static_cast<std::int64_t>(i + 1));
        EXPECT_EQ(events[i].topic, "things/" + std::to_string(i));
        EXPECT_EQ(events[i].data, nlohmann::json({{"n", 1}}));
    }
    EXPECT_EQ(listener.received(), 20u);
    EXPECT_TRUE(eventually([&] { return publisher.published() == 20; }));
    store->set_publisher(nullptr);
}

TEST_F(EventBusTest, ARolledBackTransactionAnnouncesNothing) {
    Client c(options_for(server.url()));
    EventBus bus(c);
    Received got;
    bus.on_event([&](const events::Event& e) { got.add(e); });
    bus.listen();
    ASSERT_TRUE(eventually([&] { return bus.listening(); }));
    store->set_publisher(&bus);
    EXPECT_THROW(store->transaction([&](store::Connection& conn) {
        events::append(conn, "things/rolled-back", "thing.changed", {}, clock.now());
        throw std::runtime_error("no");
    }),
                 std::runtime_error);
    append(*store, "things/kept");
    ASSERT_TRUE(got.wait_for(1));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const auto events = got.events();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].topic, "things/kept");
    store->set_publisher(nullptr);
}

TEST_F(EventBusTest, ForeignMessagesOnTheChannelAreSkipped) {
    Client c(options_for(server.url()));
    EventBus bus(c);
    Received got;
    bus.on_event([&](const events::Event& e) { got.add(e); });
    bus.listen();
    ASSERT_TRUE(eventually([&] { return bus.listening(); }));
    c.command({"PUBLISH", bus.channel(), "not json"});
    c.command({"PUBLISH", bus.channel(),
               R"({"seq":-1,"topic":"x","event":"y","created_at":"1970-01-01T00:00:00.001Z"})"});
    c.command(
        {"PUBLISH", bus.channel(),
         R"({"seq":7,"topic":"x","event":"y","created_at":"1970-01-01T00:00:00.001Z","data":null})"});
    ASSERT_TRUE(got.wait_for(1));
    EXPECT_EQ(got.events()[0].seq, 7);
    EXPECT_EQ(bus.malformed(), 2u);
}

// Redis restarted: the subscription comes back by itself, and the resync
// listeners run so the owner reads what was published while it was away.
TEST_F(EventBusTest, ALostSubscriptionIsRestoredAndResynced) {
    Client c(options_for(server.url()));
    EventBus bus(c);
    std::atomic<int> resyncs{0};
    Received got;
    bus.on_event([&](const events::Event& e) { got.add(e); });
    bus.on_resync([&] { ++resyncs; });
    bus.listen();
    ASSERT_TRUE(eventually([&] { return resyncs.load() == 1; }));
    server.stop();
    ASSERT_TRUE(eventually([&] { return !bus.listening(); }));
    server.start();
    ASSERT_TRUE(eventually([&] { return resyncs.load() == 2 && bus.listening(); }));
    EXPECT_EQ(bus.resyncs(), 2u);
    ASSERT_TRUE(eventually([&] {
        try {
            c.command(
                {"PUBLISH", bus.channel(),
                 R"({"seq":3,"topic":"x","event":"y","created_at":"1970-01-01T00:00:00.001Z"})"});
            return true;
        } catch (const Error&) {
            return false;
        }
    }));
    EXPECT_TRUE(got.wait_for(1));
}

// A Follower fed from the bus: an announced event reaches its listener once,
// and the outbox read that follows does not deliver it again.
TEST_F(EventBusTest, FollowerAppliesAnnouncedEventsOnce) {
    events::Follower follower(*store);
    std::vector<std::int64_t> seen;
    std::mutex mutex;
    follower.on("things/", [&](const events::Event& e) {
        std::lock_guard lock(mutex);
        seen.push_back(e.seq);
    });
    Client c(options_for(server.url()));
    EventBus bus(c);
    bus.on_event([&](const events::Event& e) { follower.offer(e); });
    bus.listen();
    ASSERT_TRUE(eventually([&] { return bus.listening(); }));
    store->set_publisher(&bus);
    append(*store, "things/a");
    append(*store, "things/b");
    ASSERT_TRUE(eventually([&] {
        std::lock_guard lock(mutex);
        return seen.size() == 2;
    }));
    follower.catch_up();
    follower.resync();
    append(*store, "other/c");  // not a listened topic: moves the token only
    follower.catch_up();
    std::lock_guard lock(mutex);
    EXPECT_EQ(seen, (std::vector<std::int64_t>{1, 2}));
    store->set_publisher(nullptr);
}

}  // namespace
}  // namespace pb::redis
