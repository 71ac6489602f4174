// Register, update, versions, conditional changes, events, and the error
// codes of every kind of bad call (each changing nothing).
#include <thread>

#include <gtest/gtest.h>

#include "common/events/outbox.hpp"
#include "tests/unit/states/state_fixture.hpp"

namespace pb::states::test {
namespace {

using nlohmann::json;

using StateService_ = StateServiceTest;

std::vector<events::Event> all_events(store::Store& st) {
    return st.transaction([](store::Connection& c) { return events::read_after(c, 0, 1000); },
                          store::TxMode::read);
}

// Pins what register stores and what get shows.
TEST_P(StateService_, RegisterThenGet) {
    const auto s =
        make("user_123_session", {{"user_id", "123"}},
             std::vector<Transition>{Transition::update, Transition::remove, Transition::expire});
    EXPECT_EQ(s.version, 1);
    EXPECT_EQ(s.status, Status::active);
    const auto g = service->get("user_123_session");
    EXPECT_EQ(g.type, StateType::session);
    EXPECT_EQ(g.data, (json{{"user_id", "123"}}));
    EXPECT_EQ(g.created_by, "alice");
    EXPECT_EQ(g.created_at, clock.now());
    EXPECT_FALSE(g.expires_at);
    const auto j = g.to_json();
    EXPECT_EQ(j.at("allowed_transitions"), json::array({"update", "delete", "expire"}));
    EXPECT_EQ(j.at("type"), "session");
    EXPECT_EQ(j.at("status"), "active");
    EXPECT_TRUE(j.at("created_at").is_string());
}

// Pins merge (RFC 7386, null removes), replace, and one version per change.
TEST_P(StateService_, MergeAndReplaceBumpTheVersion) {
    make("s", {{"user_id", "123"}, {"n", {{"a", 1}, {"b", 2}}}});
    clock.advance(1000);
    auto s = service->update(
        StateUpdate{.id = "s", .data = {{"last", "now"}, {"n", {{"b", nullptr}, {"c", 3}}}}},
        "bob");
    EXPECT_EQ(s.version, 2);
    EXPECT_EQ(s.data, (json{{"user_id", "123"}, {"last", "now"}, {"n", {{"a", 1}, {"c", 3}}}}));
    EXPECT_EQ(s.updated_at, clock.now());
    EXPECT_EQ(s.updated_by, "bob");
    s = service->update(StateUpdate{.id = "s", .data = {{"only", 1}}, .mode = UpdateMode::replace},
                        "bob");
    EXPECT_EQ(s.version, 3);
    EXPECT_EQ(service->get("s").data, (json{{"only", 1}}));
}

// Pins --if-version: the right version applies, a stale one is a conflict
// (reason version_mismatch, with both versions) and changes nothing.
TEST_P(StateService_, ConditionalUpdate) {
    make("s");
    service->update(StateUpdate{.id = "s", .data = {{"x", 1}}, .if_version = 1}, "bob");
    const auto snap = snapshot();
    try {
        service->update(StateUpdate{.id = "s", .data = {{"x", 2}}, .if_version = 1}, "bob");
        ADD_FAILURE() << "stale update accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::conflict);
        EXPECT_EQ(e.details().at("reason"), "version_mismatch");
        EXPECT_EQ(e.details().at("version"), 2);
        EXPECT_EQ(e.details().at("expected_version"), 1);
    }
    EXPECT_EQ(error_code_of([&] { service->transition("s", Transition::suspend, 7, {}, "b"); }),
              ErrorCode::conflict);
    EXPECT_EQ(error_code_of([&] { service->remove("s", 1, "bob"); }), ErrorCode::conflict);
    EXPECT_EQ(snapshot(), snap);
    EXPECT_EQ(service->remove("s", 2, "bob").version, 3);
}

// Pins the error code of each bad call, and that none of them writes anything.
TEST_P(StateService_, BadCallsChangeNothing) {
    make("s");
    const auto snap = snapshot();
    // unknown state
    EXPECT_EQ(error_code_of([&] { service->get("nope"); }), ErrorCode::not_found);
    EXPECT_EQ(error_code_of(
                  [&] { service->update(StateUpdate{.id = "nope", .data = json::object()}, "b"); }),
              ErrorCode::not_found);
    EXPECT_EQ(error_code_of([&] { service->transition("nope", Transition::suspend, {}, {}, "b"); }),
              ErrorCode::not_found);
    EXPECT_EQ(error_code_of([&] { service->remove("nope", {}, "b"); }), ErrorCode::not_found);
    EXPECT_EQ(error_code_of([&] { service->history("nope", 10); }), ErrorCode::not_found);
    // duplicate register
    try {
        make("s", {{"other", true}});
        ADD_FAILURE() << "duplicate accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::conflict);
        EXPECT_EQ(e.details().at("reason"), "exists");
    }
    // bad ids, data, ttl, allowed list, transitions
    for (const auto* id : {"", "has space", "a/b", "x?y", "é"}) {
        EXPECT_EQ(error_code_of([&] { make(id); }), ErrorCode::invalid_argument) << id;
        EXPECT_EQ(error_code_of([&] { service->get(id); }), ErrorCode::invalid_argument) << id;
    }
    EXPECT_EQ(error_code_of([&] { make(std::string(201, 'a')); }), ErrorCode::invalid_argument);
    EXPECT_EQ(error_code_of([&] { make("t", json::array({1, 2})); }), ErrorCode::invalid_argument);
    EXPECT_EQ(error_code_of([&] { make("t", json("text")); }), ErrorCode::invalid_argument);
    EXPECT_EQ(error_code_of([&] {
                  make("t", {{"big", std::string(k_max_data_bytes, 'x')}});
              }),
              ErrorCode::invalid_argument);
    EXPECT_EQ(error_code_of([&] { make("t", json::object(), std::vector<Transition>{}); }),
              ErrorCode::invalid_argument);
    EXPECT_EQ(error_code_of([&] {
                  make("t", json::object(), std::vector<Transition>{Transition::update}, 60'000);
              }),
              ErrorCode::invalid_argument);  // a TTL needs expire allowed
    EXPECT_EQ(error_code_of([&] { make("t", json::object(), std::nullopt, 10); }),
              ErrorCode::invalid_argument);
    EXPECT_EQ(
        error_code_of([&] { service->update(StateUpdate{.id = "s", .data = json::array()}, "b"); }),
        ErrorCode::invalid_argument);
    EXPECT_EQ(error_code_of([&] {
                  service->update(
                      StateUpdate{.id = "s", .data = {{"big", std::string(k_max_data_bytes, 'x')}}},
                      "b");
              }),
              ErrorCode::invalid_argument);
    EXPECT_EQ(error_code_of([&] { service->transition("s", Transition::update, {}, {}, "b"); }),
              ErrorCode::invalid_argument);
    EXPECT_EQ(
        error_code_of([&] { service->transition("s", Transition::suspend, {}, 60'000, "b"); }),
        ErrorCode::invalid_argument);  // ttl only with renew
    EXPECT_EQ(error_code_of([&] { service->history("s", 0); }), ErrorCode::invalid_argument);
    EXPECT_EQ(snapshot(), snap);
}

// Pins that every change appends its event in the same transaction: topic
// states/<id>, the type of the transition, the state's JSON as data.
TEST_P(StateService_, EveryChangeIsAnEvent) {
    make("s");
    service->update(StateUpdate{.id = "s", .data = {{"x", 1}}}, "bob");
    service->transition("s", Transition::suspend, {}, {}, "bob");
    service->transition("s", Transition::resume, {}, {}, "bob");
    service->remove("s", {}, "bob");
    const auto ev = all_events(*store);
    ASSERT_EQ(ev.size(), 5U);
    const std::vector<std::string> types{"state.created", "state.updated", "state.suspended",
                                         "state.resumed", "state.deleted"};
    for (std::size_t i = 0; i < ev.size(); ++i) {
        EXPECT_EQ(ev[i].topic, "states/s");
        EXPECT_EQ(ev[i].type, types[i]);
        EXPECT_EQ(ev[i].data.at("id"), "s");
        EXPECT_EQ(ev[i].data.at("version"), static_cast<int>(i) + 1);
    }
    EXPECT_EQ(ev[1].data.at("data"), (json{{"user_id", "123"}, {"x", 1}}));
    EXPECT_EQ(ev[2].data.at("status"), "suspended");
}

// Pins that a deleted id can be registered again and its versions continue
// after the delete, so one history never repeats a version.
TEST_P(StateService_, ReRegisterContinuesVersions) {
    make("s");
    service->update(StateUpdate{.id = "s", .data = {{"x", 1}}}, "bob");
    EXPECT_EQ(service->remove("s", {}, "bob").version, 3);
    EXPECT_EQ(service->history("s", 10).front().transition, Transition::remove);
    const auto again = make("s");
    EXPECT_EQ(again.version, 4);
    EXPECT_EQ(service->get("s").data, (json{{"user_id", "123"}}));
    const auto h = service->history("s", 10);
    ASSERT_EQ(h.size(), 4U);
    EXPECT_EQ(h[0].transition, Transition::create);
    EXPECT_EQ(h[0].version, 4);
}

// Pins update_many: all updates in one transaction, or none when one fails.
TEST_P(StateService_, UpdateManyIsAllOrNothing) {
    make("a");
    make("b");
    const auto done = service->update_many(
        {StateUpdate{.id = "a", .data = {{"n", 1}}}, StateUpdate{.id = "b", .data = {{"n", 1}}},
         StateUpdate{.id = "a", .data = {{"n", 2}}}},
        "bob");
    ASSERT_EQ(done.size(), 3U);
    EXPECT_EQ(done[2].version, 3);
    EXPECT_EQ(service->get("a").data.at("n"), 2);
    service->transition("b", Transition::expire, {}, {}, "bob");
    const auto snap = snapshot();
    EXPECT_EQ(error_code_of([&] {
                  service->update_many({StateUpdate{.id = "a", .data = {{"n", 3}}},
                                        StateUpdate{.id = "b", .data = {{"n", 3}}}},
                                       "bob");
              }),
              ErrorCode::conflict);  // b is expired
    EXPECT_EQ(error_code_of([&] {
                  service->update_many({StateUpdate{.id = "a", .data = {{"n", 3}}},
                                        StateUpdate{.id = "zz", .data = {{"n", 3}}}},
                                       "bob");
              }),
              ErrorCode::not_found);
    EXPECT_EQ(snapshot(), snap);
}

// Pins that a second service on the same database (another process, in
// effect) sees changes at once and loses a conditional race cleanly.
TEST_P(StateService_, TwoWritersOneVersion) {
    auto other_store = store::open_store(db.url(), store::StoreOptions{.pool_size = 1});
    StateService other(*other_store, clock);
    make("s");
    other.update(StateUpdate{.id = "s", .data = {{"by", "other"}}, .if_version = 1}, "carol");
    EXPECT_EQ(
        error_code_of([&] {
            service->update(StateUpdate{.id = "s", .data = {{"by", "me"}}, .if_version = 1}, "bob");
        }),
        ErrorCode::conflict);
    EXPECT_EQ(service->get("s").data.at("by"), "other");
    EXPECT_EQ(service->get("s").version, 2);
}

// Pins that concurrent writers through two stores (as two processes would)
// lose no update: every merge lands and each takes exactly one version.
TEST_P(StateService_, ConcurrentUpdatesLoseNothing) {
    make("s", json::object());
    auto other_store = store::open_store(db.url(), store::StoreOptions{.pool_size = 2});
    StateService other(*other_store, clock);
    constexpr int k_threads = 4;
    constexpr int k_each = 25;
    std::vector<std::thread> threads;
    for (int t = 0; t < k_threads; ++t) {
        threads.emplace_back([&, t] {
            auto& svc = t % 2 == 0 ? *service : other;
            for (int i = 0; i < k_each; ++i) {
                const auto field = "t" + std::to_string(t) + "_" + std::to_string(i);
                svc.update(StateUpdate{.id = "s", .data = {{field, i}}}, "w");
            }
        });
    }
    for (auto& th : threads) {
        th.join();
    }
    const auto s = service->get("s");
    EXPECT_EQ(s.version, 1 + k_threads * k_each);
    EXPECT_EQ(s.data.size(), static_cast<std::size_t>(k_threads * k_each));
    EXPECT_EQ(history_rows(), 1 + k_threads * k_each);
}

PB_INSTANTIATE_BACKENDS(StateService_);

}  // namespace
}  // namespace pb::states::test
