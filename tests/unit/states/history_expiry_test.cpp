// History order, and expiry by TTL with the injected clock.
#include <gtest/gtest.h>

#include "common/events/outbox.hpp"
#include "tests/unit/states/state_fixture.hpp"

namespace pb::states::test {
namespace {

using nlohmann::json;

using StateHistory = StateServiceTest;
using StateExpiry = StateServiceTest;

// Pins history: newest first, one row per change with transition, data,
// actor, time and version; limit keeps the newest.
TEST_P(StateHistory, NewestFirstWithEverything) {
    make("s", {{"n", 0}});
    for (int i = 1; i <= 3; ++i) {
        clock.advance(1000);
        service->update(StateUpdate{.id = "s", .data = {{"n", i}}}, "bob");
    }
    clock.advance(1000);
    service->transition("s", Transition::suspend, {}, {}, "carol");
    const auto h = service->history("s", 100);
    ASSERT_EQ(h.size(), 5U);
    EXPECT_EQ(h[0].transition, Transition::suspend);
    EXPECT_EQ(h[0].status, Status::suspended);
    EXPECT_EQ(h[0].actor, "carol");
    EXPECT_EQ(h[0].at, clock.now());
    EXPECT_EQ(h[0].data, (json{{"n", 3}}));
    for (std::size_t i = 0; i < h.size(); ++i) {
        EXPECT_EQ(h[i].version, 5 - static_cast<std::int64_t>(i));
    }
    EXPECT_EQ(h[3].data, (json{{"n", 1}}));
    EXPECT_EQ(h[4].transition, Transition::create);
    EXPECT_EQ(h[4].actor, "alice");
    const auto two = service->history("s", 2);
    ASSERT_EQ(two.size(), 2U);
    EXPECT_EQ(two[1].version, 4);
    EXPECT_EQ(two[0].to_json().at("transition"), "suspend");
}

// Pins the sweep: a state with a TTL passes to expired by itself once due,
// with a history row by system:expiry and a state.expired event; not before.
TEST_P(StateExpiry, SweepExpiresDueStates) {
    make("short", {{"a", 1}}, std::nullopt, 30 * k_minute);
    make("long", {{"a", 1}}, std::nullopt, 60 * k_minute);
    make("never");
    clock.advance(30 * k_minute - 1);
    EXPECT_EQ(service->expire_due(clock.now()), 0);
    EXPECT_EQ(service->get("short").status, Status::active);
    clock.advance(1);
    const auto events_before = event_rows();
    EXPECT_EQ(service->expire_due(clock.now()), 1);
    EXPECT_EQ(service->expire_due(clock.now()), 0);
    EXPECT_EQ(event_rows(), events_before + 1);
    const auto s = service->get("short");
    EXPECT_EQ(s.status, Status::expired);
    EXPECT_EQ(s.version, 2);
    EXPECT_EQ(s.updated_by, std::string(k_expiry_actor));
    const auto h = service->history("short", 1);
    EXPECT_EQ(h[0].transition, Transition::expire);
    EXPECT_EQ(h[0].actor, std::string(k_expiry_actor));
    const auto ev = store->transaction(
        [](store::Connection& c) { return events::read_after(c, 0, 100); }, store::TxMode::read);
    EXPECT_EQ(ev.back().type, "state.expired");
    EXPECT_EQ(ev.back().topic, "states/short");
    EXPECT_EQ(ev.back().data.at("status"), "expired");
    clock.advance(60 * k_minute);
    EXPECT_EQ(service->expire_due(clock.now()), 1);
    EXPECT_EQ(service->get("never").status, Status::active);
}

// Pins that reads are right before any sweep: get, history and list expire a
// due state first, so they never show it as active.
TEST_P(StateExpiry, ReadsExpireADueStateFirst) {
    make("s", {{"a", 1}}, std::nullopt, k_minute);
    make("t", {{"a", 1}}, std::nullopt, k_minute);
    make("u", {{"a", 1}}, std::nullopt, k_minute);
    clock.advance(k_minute);
    EXPECT_EQ(service->get("s").status, Status::expired);
    EXPECT_EQ(service->history("t", 1).front().transition, Transition::expire);
    const auto active = service->list(ListFilter{.status = Status::active});
    EXPECT_TRUE(active.states.empty());
    EXPECT_EQ(service->list(ListFilter{.status = Status::expired}).states.size(), 3U);
    EXPECT_EQ(service->expire_due(clock.now()), 0);  // nothing left for the sweeper
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM state_history WHERE transition = 'expire'"), 3);
}

// Pins that a change meeting a due state expires it first: an update is then
// illegal (and the expiry too is rolled back with it), a renew applies.
TEST_P(StateExpiry, ChangesMeetTheExpiryFirst) {
    make("s", {{"a", 1}}, std::nullopt, k_minute);
    clock.advance(k_minute);
    const auto snap = snapshot();
    EXPECT_EQ(error_code_of([&] {
                  service->update(StateUpdate{.id = "s", .data = {{"a", 2}}}, "bob");
              }),
              ErrorCode::conflict);
    EXPECT_EQ(snapshot(), snap);
    // The version moved on with the expiry, so a conditional change on 1 fails.
    EXPECT_EQ(error_code_of([&] { service->transition("s", Transition::renew, 1, {}, "bob"); }),
              ErrorCode::conflict);
    const auto renewed = service->transition("s", Transition::renew, {}, {}, "bob");
    EXPECT_EQ(renewed.status, Status::active);
    EXPECT_EQ(renewed.version, 3);  // 2 was the expiry
    EXPECT_EQ(renewed.expires_at, clock.now() + k_minute);
    const auto h = service->history("s", 10);
    EXPECT_EQ(h[0].transition, Transition::renew);
    EXPECT_EQ(h[1].transition, Transition::expire);
}

// Pins renew: from active it extends the TTL; --ttl replaces it; without a
// TTL nothing expires.
TEST_P(StateExpiry, RenewExtends) {
    make("s", {{"a", 1}}, std::nullopt, 10 * k_minute);
    clock.advance(9 * k_minute);
    auto s = service->transition("s", Transition::renew, {}, {}, "bob");
    EXPECT_EQ(s.expires_at, clock.now() + 10 * k_minute);
    s = service->transition("s", Transition::renew, {}, 60 * k_minute, "bob");
    EXPECT_EQ(s.ttl_ms, 60 * k_minute);
    EXPECT_EQ(s.expires_at, clock.now() + 60 * k_minute);
    clock.advance(59 * k_minute);
    EXPECT_EQ(service->get("s").status, Status::active);
    clock.advance(k_minute);
    EXPECT_EQ(service->get("s").status, Status::expired);
    EXPECT_EQ(s.to_json().at("ttl_ms"), 3'600'000);

    // A state that may not expire cannot be given a TTL by renew either.
    make("fixed", json::object(), std::vector<Transition>{Transition::renew});
    const auto snap = snapshot();
    EXPECT_EQ(error_code_of(
                  [&] { service->transition("fixed", Transition::renew, {}, k_minute, "bob"); }),
              ErrorCode::invalid_argument);
    EXPECT_EQ(snapshot(), snap);
}

// Pins that a suspended or inactive state with a TTL expires too, and that
// manually expiring keeps a later sweep from touching it again.
TEST_P(StateExpiry, AnyLiveStatusExpires) {
    make("a", json::object(), std::nullopt, k_minute);
    make("b", json::object(), std::nullopt, k_minute);
    make("c", json::object(), std::nullopt, k_minute);
    service->transition("a", Transition::suspend, {}, {}, "bob");
    service->transition("b", Transition::deactivate, {}, {}, "bob");
    service->transition("c", Transition::expire, {}, {}, "bob");
    clock.advance(k_minute);
    EXPECT_EQ(service->expire_due(clock.now()), 2);
    EXPECT_EQ(service->get("a").status, Status::expired);
    EXPECT_EQ(service->get("b").status, Status::expired);
    EXPECT_EQ(service->get("c").version, 2);
}

PB_INSTANTIATE_BACKENDS(StateExpiry);
PB_INSTANTIATE_BACKENDS(StateHistory);

}  // namespace
}  // namespace pb::states::test
