// The transition table, applied through the service: every transition from
// every status, legal or not, with what each leaves behind.
#include <map>
#include <set>
#include <utility>

#include <gtest/gtest.h>

#include "tests/unit/states/state_fixture.hpp"

namespace pb::states::test {
namespace {

using nlohmann::json;

// The table README.md documents, written out independently of legal_from():
// (transition, from) -> status after. Pairs not listed are illegal.
const std::map<std::pair<Transition, Status>, Status> k_legal{
    {{Transition::update, Status::active}, Status::active},
    {{Transition::update, Status::inactive}, Status::inactive},
    {{Transition::update, Status::suspended}, Status::suspended},
    {{Transition::activate, Status::inactive}, Status::active},
    {{Transition::deactivate, Status::active}, Status::inactive},
    {{Transition::suspend, Status::active}, Status::suspended},
    {{Transition::resume, Status::suspended}, Status::active},
    {{Transition::expire, Status::active}, Status::expired},
    {{Transition::expire, Status::inactive}, Status::expired},
    {{Transition::expire, Status::suspended}, Status::expired},
    {{Transition::renew, Status::active}, Status::active},
    {{Transition::renew, Status::expired}, Status::active},
};

const std::vector<Transition> k_moves{
    Transition::update, Transition::activate, Transition::deactivate, Transition::suspend,
    Transition::resume, Transition::expire,   Transition::renew};

class TransitionTable : public StateServiceTest {
  protected:
    // A fresh state brought to `status` by legal transitions.
    State in_status(const std::string& id, Status status) {
        make(id);
        switch (status) {
            case Status::active:
                return service->get(id);
            case Status::inactive:
                return service->transition(id, Transition::deactivate, {}, {}, "alice");
            case Status::suspended:
                return service->transition(id, Transition::suspend, {}, {}, "alice");
            case Status::expired:
                return service->transition(id, Transition::expire, {}, {}, "alice");
        }
        return service->get(id);
    }

    State apply(const std::string& id, Transition t) {
        if (t == Transition::update) {
            return service->update(StateUpdate{.id = id, .data = {{"touched", true}}}, "bob");
        }
        return service->transition(id, t, {}, {}, "bob");
    }
};

// Pins every cell of the table: a legal move lands on its status, bumps the
// version by one and records history and an event; an illegal one is a
// conflict (reason illegal_transition) and changes nothing.
TEST_P(TransitionTable, EveryTransitionFromEveryStatus) {
    int n = 0;
    for (const auto from : k_all_statuses) {
        for (const auto t : k_moves) {
            SCOPED_TRACE(std::string(to_string(t)) + " from " + std::string(to_string(from)));
            const std::string id = "s" + std::to_string(n++);
            const auto before = in_status(id, from);
            ASSERT_EQ(before.status, from);
            const auto it = k_legal.find({t, from});
            if (it != k_legal.end()) {
                const auto events = event_rows();
                const auto after = apply(id, t);
                EXPECT_EQ(after.status, it->second);
                EXPECT_EQ(after.version, before.version + 1);
                EXPECT_EQ(after.updated_by, "bob");
                EXPECT_EQ(service->get(id).status, it->second);
                EXPECT_EQ(event_rows(), events + 1);
                const auto h = service->history(id, 1);
                ASSERT_EQ(h.size(), 1U);
                EXPECT_EQ(h[0].transition, t);
                EXPECT_EQ(h[0].actor, "bob");
                EXPECT_EQ(h[0].version, after.version);
            } else {
                const auto snap = snapshot();
                try {
                    apply(id, t);
                    ADD_FAILURE() << "illegal transition accepted";
                } catch (const Error& e) {
                    EXPECT_EQ(e.code(), ErrorCode::conflict);
                    EXPECT_EQ(e.details().at("reason"), "illegal_transition");
                }
                EXPECT_EQ(snapshot(), snap);
            }
        }
    }
}

// Pins that delete is legal from every status, and create from none.
TEST_P(TransitionTable, DeleteFromAnyStatusCreateFromNone) {
    int n = 0;
    for (const auto from : k_all_statuses) {
        const std::string id = "d" + std::to_string(n++);
        in_status(id, from);
        const auto gone = service->remove(id, {}, "bob");
        EXPECT_EQ(gone.status, from);
        EXPECT_EQ(error_code_of([&] { service->get(id); }), ErrorCode::not_found);
        EXPECT_FALSE(legal_from(Transition::create, from));
    }
}

// Pins that an explicit allowed list narrows the table (update and delete
// included) and never widens it.
TEST_P(TransitionTable, AllowedListNarrowsTheTable) {
    make("narrow", {{"a", 1}},
         std::vector<Transition>{Transition::update, Transition::remove, Transition::expire});
    service->update(StateUpdate{.id = "narrow", .data = {{"b", 2}}}, "bob");
    const auto snap = snapshot();
    for (const auto t : {Transition::suspend, Transition::deactivate, Transition::renew}) {
        try {
            service->transition("narrow", t, {}, {}, "bob");
            ADD_FAILURE() << to_string(t) << " accepted";
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::conflict);
            EXPECT_EQ(e.details().at("reason"), "illegal_transition");
        }
    }
    EXPECT_EQ(snapshot(), snap);
    // expire is in the list and legal; resume is in neither.
    EXPECT_EQ(service->transition("narrow", Transition::expire, {}, {}, "bob").status,
              Status::expired);
    // renew is legal from expired but not in the list.
    EXPECT_EQ(error_code_of([&] { service->transition("narrow", Transition::renew, {}, {}, "b"); }),
              ErrorCode::conflict);
    service->remove("narrow", {}, "bob");

    make("no_delete", json::object(), std::vector<Transition>{Transition::update});
    EXPECT_EQ(error_code_of([&] { service->remove("no_delete", {}, "bob"); }), ErrorCode::conflict);
    EXPECT_EQ(service->get("no_delete").version, 1);
}

// Pins update with a transition: data and status in one change (one version,
// one history row named for the transition); the state must allow both the
// update and the move, and a refusal changes neither.
TEST_P(TransitionTable, UpdateWithATransitionIsOneChange) {
    make("s");
    const auto moved = service->update(
        StateUpdate{.id = "s", .data = {{"step", 1}}, .transition = Transition::suspend}, "bob");
    EXPECT_EQ(moved.status, Status::suspended);
    EXPECT_EQ(moved.version, 2);
    EXPECT_EQ(moved.data["step"], 1);
    const auto h = service->history("s", 10);
    ASSERT_EQ(h.size(), 2U);
    EXPECT_EQ(h.front().transition, Transition::suspend);

    const auto refused = [&](const std::string& id, Transition t) {
        return error_code_of([&] {
            service->update(StateUpdate{.id = id, .data = {{"step", 9}}, .transition = t}, "bob");
        });
    };
    EXPECT_EQ(refused("s", Transition::suspend), ErrorCode::conflict);  // already suspended
    EXPECT_EQ(refused("s", Transition::update), ErrorCode::invalid_argument);
    EXPECT_EQ(refused("s", Transition::remove), ErrorCode::invalid_argument);
    make("frozen", json::object(), std::vector<Transition>{Transition::suspend});
    EXPECT_EQ(refused("frozen", Transition::suspend), ErrorCode::conflict);  // no update
    make("fixed", json::object(), std::vector<Transition>{Transition::update});
    EXPECT_EQ(refused("fixed", Transition::suspend), ErrorCode::conflict);  // no suspend
    EXPECT_EQ(service->get("s").version, 2);
    EXPECT_EQ(service->get("frozen").version, 1);
    EXPECT_EQ(service->get("fixed").status, Status::active);
    EXPECT_FALSE(service->get("fixed").data.contains("step"));
}

// Pins that the names are the original framework's values and round-trip.
TEST(StateNames, RoundTrip) {
    std::set<std::string> seen;
    for (const auto t : k_all_transitions) {
        EXPECT_EQ(transition_from_string(to_string(t)), t);
        seen.insert(std::string(to_string(t)));
    }
    EXPECT_EQ(seen, (std::set<std::string>{"create", "update", "delete", "activate", "deactivate",
                                           "suspend", "resume", "expire", "renew"}));
    for (const auto s : k_all_types) {
        EXPECT_EQ(type_from_string(to_string(s)), s);
    }
    EXPECT_EQ(type_from_string("session"), StateType::session);
    EXPECT_FALSE(type_from_string("Session"));
    EXPECT_FALSE(status_from_string("deleted"));
    EXPECT_EQ(event_type(Transition::suspend), "state.suspended");
    EXPECT_EQ(event_type(Transition::remove), "state.deleted");
}

PB_INSTANTIATE_BACKENDS(TransitionTable);

}  // namespace
}  // namespace pb::states::test
