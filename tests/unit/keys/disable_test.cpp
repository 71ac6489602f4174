// Disabling a key (keys.disable / keys.enable): reversible, reason
// "disabled" at verify, seen by another process's very next verify, listed
// and filtered as its own status; revoking stays for good.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/unit/keys/key_fixture.hpp"

namespace pb::keys::test {
namespace {

class DisableTest : public KeyServiceTest {
  protected:
    std::vector<std::string> event_types() {
        const auto rows = store->transaction(
            [&](store::Connection& c) { return c.query("SELECT type FROM events ORDER BY seq"); },
            store::TxMode::read);
        std::vector<std::string> out;
        for (const auto& r : rows) {
            out.push_back(r.get_text(0));
        }
        return out;
    }
};

// A disabled key verifies as "disabled" (even cached), shows why, and works again once enabled.
TEST_P(DisableTest, DisabledUntilEnabled) {
    const auto created = create();
    ASSERT_TRUE(service->verify(created.key).valid);  // now cached
    clock.advance(1000);
    const auto disabled = service->disable(created.record.id, "unpaid invoice");
    EXPECT_EQ(disabled.disabled_at, clock.now());
    EXPECT_EQ(disabled.updated_at, clock.now());
    EXPECT_EQ(disabled.status(clock.now()), "disabled");
    const auto r = service->verify(created.key);
    EXPECT_FALSE(r.valid);
    EXPECT_EQ(r.reason, "disabled");
    EXPECT_EQ(r.to_json(clock.now()), (nlohmann::json{{"valid", false}, {"reason", "disabled"}}));
    const auto shown = service->get(created.record.id).to_json(clock.now());
    EXPECT_EQ(shown["status"], "disabled");
    EXPECT_EQ(shown["disabled_reason"], "unpaid invoice");
    EXPECT_TRUE(shown["disabled_at"].is_string());

    const auto enabled = service->enable(created.record.id);
    EXPECT_FALSE(enabled.disabled_at.has_value());
    EXPECT_TRUE(service->verify(created.key).valid);
    const auto again = service->get(created.record.id).to_json(clock.now());
    EXPECT_EQ(again["status"], "active");
    EXPECT_TRUE(again["disabled_at"].is_null());
    EXPECT_TRUE(again["disabled_reason"].is_null());
    EXPECT_EQ(event_types(),
              (std::vector<std::string>{"key.created", "key.disabled", "key.enabled"}));
}

// Disabling a disabled key, or enabling an enabled one, changes nothing and tells no one.
TEST_P(DisableTest, DisableAndEnableAreIdempotent) {
    const auto created = create();
    service->enable(created.record.id);
    const auto first = service->disable(created.record.id, "first");
    const auto events = event_rows();
    clock.advance(k_hour);
    const auto second = service->disable(created.record.id, "second");
    EXPECT_EQ(second.disabled_at, first.disabled_at);
    EXPECT_EQ(second.disabled_reason, "first");
    EXPECT_EQ(event_rows(), events);
}

// A revoked key can be neither disabled nor enabled (conflict); revoking a
// disabled key revokes it; an absent key is not_found; a bad reason changes nothing.
TEST_P(DisableTest, RevokedIsForGoodAbsentIsNotFoundBadReasonChangesNothing) {
    const auto created = create();
    EXPECT_EQ(error_code_of([&] { service->disable(created.record.id, std::string(201, 'x')); }),
              ErrorCode::invalid_argument);
    EXPECT_EQ(error_code_of([&] { service->disable(created.record.id, "a\nb"); }),
              ErrorCode::invalid_argument);
    EXPECT_EQ(service->get(created.record.id).status(clock.now()), "active");
    service->disable(created.record.id, "");
    service->revoke(created.record.id);
    EXPECT_EQ(service->verify(created.key).reason, "revoked");
    EXPECT_EQ(service->get(created.record.id).status(clock.now()), "revoked");
    EXPECT_EQ(error_code_of([&] { service->enable(created.record.id); }), ErrorCode::conflict);
    EXPECT_EQ(error_code_of([&] { service->disable(created.record.id, ""); }), ErrorCode::conflict);
    EXPECT_EQ(error_code_of([&] { service->disable("nosuchkey123", ""); }), ErrorCode::not_found);
    EXPECT_EQ(error_code_of([&] { service->enable("nosuchkey123"); }), ErrorCode::not_found);
}

// A disabled key that has also expired says "disabled" (the reversible
// state first: enabling alone does not bring it back, and says so).
TEST_P(DisableTest, DisabledComesBeforeExpired) {
    const auto created = create("ci-bot", {}, clock.now() + k_hour);
    service->disable(created.record.id, "");
    clock.advance(2 * k_hour);
    EXPECT_EQ(service->verify(created.key).reason, "disabled");
    service->enable(created.record.id);
    EXPECT_EQ(service->verify(created.key).reason, "expired");
}

// keys.list's status filter: disabled keys are neither active nor expired.
TEST_P(DisableTest, ListFiltersByDisabled) {
    const auto a = create("a");
    clock.advance(1);  // listed in creation order
    const auto b = create("b", {}, clock.now() + k_hour);
    clock.advance(1);
    create("c");
    service->disable(a.record.id, "");
    service->disable(b.record.id, "");
    clock.advance(2 * k_hour);
    const auto ids = [&](const char* status) {
        std::vector<std::string> out;
        for (const auto& k : service->list(ListFilter{.status = status})) {
            out.push_back(k.owner);
        }
        return out;
    };
    EXPECT_EQ(ids("disabled"), (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(ids("active"), (std::vector<std::string>{"c"}));
    EXPECT_TRUE(ids("expired").empty());
    // Deleting a disabled key removes what was kept beside it too.
    service->remove(a.record.id);
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM api_key_disabled"), 1);
}

// Another process (its own store and index) refuses the key at its next
// verify, and accepts it again once enabled there.
TEST_P(DisableTest, AnotherProcessSeesItAtOnce) {
    const auto created = create();
    auto other_store = store::open_store(db_path(), store::StoreOptions{.pool_size = 2});
    KeyService other(*other_store, clock);
    ASSERT_TRUE(other.verify(created.key).valid);  // cached there
    service->disable(created.record.id, "");
    EXPECT_TRUE(seen([&] { return other.verify(created.key).reason == "disabled"; }));
    service->enable(created.record.id);
    EXPECT_TRUE(seen([&] { return other.verify(created.key).valid; }));
}

PB_INSTANTIATE_BACKENDS(DisableTest);

}  // namespace
}  // namespace pb::keys::test
