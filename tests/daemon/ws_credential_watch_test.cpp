// Which WebSocket sessions an event sends to re-check their credential
// (daemon/ws/credential_watch), without a socket: keys/<id> the sessions of
// that key, tokens/* the JWT sessions, bans every session; the caches get
// each such event first.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "daemon/ws/credential_watch.hpp"

namespace pb::daemon::ws {
namespace {

class CountingSink final : public WsSink {
  public:
    void push(WsFrame) override {}
    std::uint64_t queued_bytes() const override { return 0; }
    void drop_slow() override {}
    void going_away() override {}
    void recheck() override { ++rechecks; }
    int rechecks = 0;
};

events::Event event(const std::string& topic) {
    events::Event e;
    e.topic = topic;
    e.type = "thing.done";
    return e;
}

struct Watched {
    std::vector<std::string> offered;
    CredentialWatch watch{[this](const events::Event& e) { offered.push_back(e.topic); }};
    std::shared_ptr<CountingSink> key_a = std::make_shared<CountingSink>();
    std::shared_ptr<CountingSink> key_b = std::make_shared<CountingSink>();
    std::shared_ptr<CountingSink> jwt = std::make_shared<CountingSink>();
    Watched() {
        watch.watch(1, key_a, {.actor = "key:a", .key_id = "a"});
        watch.watch(2, key_b, {.actor = "key:b", .key_id = "b"});
        watch.watch(3, jwt, {.actor = "jwt:someone"});
    }
    std::vector<int> rechecks() const { return {key_a->rechecks, key_b->rechecks, jwt->rechecks}; }
};

// An event on one key re-checks the sessions of that key only.
TEST(WsCredentialWatch, KeyEventConcernsThatKeysSessions) {
    Watched w;
    w.watch.on_events({event("keys/a"), event("states/x")});
    EXPECT_EQ(w.rechecks(), (std::vector<int>{1, 0, 0}));
    EXPECT_EQ(w.offered, (std::vector<std::string>{"keys/a"}));
}

// Token revocations re-check the JWT sessions; bans every session, once per batch.
TEST(WsCredentialWatch, TokensConcernJwtSessionsAndBansEveryone) {
    Watched w;
    w.watch.on_events({event("tokens/revoked")});
    EXPECT_EQ(w.rechecks(), (std::vector<int>{0, 0, 1}));
    w.watch.on_events({event("bans"), event("bans/1.2.3.4"), event("keys/b")});
    EXPECT_EQ(w.rechecks(), (std::vector<int>{1, 1, 2}));
    EXPECT_EQ(w.offered,
              (std::vector<std::string>{"tokens/revoked", "bans", "bans/1.2.3.4", "keys/b"}));
}

// Events on other topics, and forgotten sessions, re-check nothing.
TEST(WsCredentialWatch, OtherTopicsAndForgottenSessions) {
    Watched w;
    w.watch.on_events({event("states/a"), event("keysmith/a")});
    EXPECT_EQ(w.rechecks(), (std::vector<int>{0, 0, 0}));
    EXPECT_TRUE(w.offered.empty());
    w.watch.forget(1);
    w.watch.on_events({event("keys/a")});
    EXPECT_EQ(w.rechecks(), (std::vector<int>{0, 0, 0}));
}

}  // namespace
}  // namespace pb::daemon::ws
