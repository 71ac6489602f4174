// CrowdSec delta pulls from a puller's outbox position (limits/bouncer_pulls.hpp):
// what a delta sends, and each case where it must compare everything instead.
#include "common/limits/bouncer_pulls.hpp"

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "common/events/outbox.hpp"
#include "tests/unit/limits/ban_fixture.hpp"

namespace pb::limits::test {
namespace {

using nlohmann::json;

class BouncerPullsTest : public BanServiceTest {
  protected:
    json pull(bool startup, const crowdsec::DecisionFilter& filter = {}) {
        return pulls.pull("key:fw", "192.0.2.10", startup, filter);
    }

    static std::set<std::string> values(const json& list) {
        std::set<std::string> out;
        if (list.is_array()) {
            for (const auto& d : list) {
                out.insert(d.at("value").get<std::string>());
            }
        }
        return out;
    }

    // The outbox seq the puller's set reflects (-1: unknown).
    std::int64_t position() {
        return scalar("SELECT COALESCE(outbox_seq, -1) FROM bouncer_pullers");
    }

    BouncerPulls pulls{*store, clock};
};

const json k_nothing{{"new", nullptr}, {"deleted", nullptr}};

// Pins: once its changes are settled (older than k_commit_gap_wait), a
// puller's position is the newest event, and a delta sends removals, new
// bans and expiries (which write no event) after it.
TEST_P(BouncerPullsTest, DeltaSendsWhatChangedAfterThePosition) {
    add("203.0.113.7", k_hour, "ssh");
    add("10.9.0.0/16");
    add("user:mallory");
    EXPECT_EQ(values(pull(true)["new"]), (std::set<std::string>{"203.0.113.7", "10.9.0.0/16"}));
    EXPECT_EQ(position(), 0);  // its events are too young to be settled yet
    clock.advance(10 * 1000);
    EXPECT_EQ(pull(false), k_nothing);
    const auto latest = scalar("SELECT MAX(seq) FROM events");
    EXPECT_EQ(position(), latest);

    bans->remove("10.9.0.0/16");
    add("198.51.100.9", 2 * k_hour);
    add("user:eve");
    const auto second = pull(false);
    EXPECT_EQ(values(second["deleted"]), std::set<std::string>{"10.9.0.0/16"}) << second;
    EXPECT_EQ(values(second["new"]), std::set<std::string>{"198.51.100.9"}) << second;
    EXPECT_EQ(pull(false), k_nothing);

    clock.advance(61 * k_minute);
    const auto expired = pull(false);
    EXPECT_EQ(values(expired["deleted"]), std::set<std::string>{"203.0.113.7"}) << expired;
    EXPECT_TRUE(expired["new"].is_null()) << expired;
    EXPECT_EQ(expired["deleted"][0]["duration"].get<std::string>().substr(0, 1), "-");
    EXPECT_EQ(pull(false), k_nothing);
}

// Pins: a pull with another filter than the last one compares everything
// (the scopes it no longer asks for are deleted, then come back).
TEST_P(BouncerPullsTest, AnotherFilterIsComparedAfresh) {
    add("203.0.113.7");
    add("10.9.0.0/16");
    pull(true);
    clock.advance(10 * 1000);
    crowdsec::DecisionFilter only_ip;
    only_ip.scopes = {BanKind::ip};
    EXPECT_EQ(values(pull(false, only_ip)["deleted"]), std::set<std::string>{"10.9.0.0/16"});
    EXPECT_EQ(pull(false, only_ip), k_nothing);
    EXPECT_EQ(values(pull(false)["new"]), std::set<std::string>{"10.9.0.0/16"});
}

// Pins: events pruned after a puller's position (events.retention) make its
// next pull compare everything, so a removal whose event is gone still comes.
TEST_P(BouncerPullsTest, PrunedEventsAfterThePositionStillDeliverEveryChange) {
    add("203.0.113.7");
    add("203.0.113.8");
    pull(true);
    clock.advance(10 * 1000);
    pull(false);
    bans->remove("203.0.113.7");
    add("203.0.113.9");
    clock.advance(2 * k_hour);
    const auto pruned = store->transaction(
        [&](store::Connection& c) { return events::prune(c, clock.now(), 1000); });
    ASSERT_GE(pruned, 1);  // the removal's event is gone (the newest is always kept)
    const auto after = pull(false);
    EXPECT_EQ(values(after["deleted"]), std::set<std::string>{"203.0.113.7"}) << after;
    EXPECT_EQ(values(after["new"]), std::set<std::string>{"203.0.113.9"}) << after;
}

// Pins: pulls of one puller at once take turns: each answers, none fails on
// a serialization conflict, and together they send each change once.
TEST_P(BouncerPullsTest, ConcurrentPullsOfOnePullerAllAnswer) {
    add("203.0.113.7");
    pull(true);
    clock.advance(10 * 1000);
    add("203.0.113.8");
    std::atomic<int> failures{0};
    std::atomic<int> sent{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 10; ++i) {
                try {
                    sent += static_cast<int>(values(pull(false)["new"]).size());
                } catch (const std::exception&) {
                    ++failures;
                }
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(sent.load(), 1);
}

PB_INSTANTIATE_BACKENDS(BouncerPullsTest);

}  // namespace
}  // namespace pb::limits::test
