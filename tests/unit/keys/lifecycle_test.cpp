#include <algorithm>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "tests/unit/keys/key_fixture.hpp"

namespace pb::keys::test {
namespace {

using LifecycleTest = KeyServiceTest;

// create stores what was asked and shows the secret only in its return value.
TEST_P(LifecycleTest, CreateStoresTheRequest) {
    const auto created = create("ci-bot", {"deploy:write"}, clock.now() + k_day, 5);
    EXPECT_EQ(key_rows(), 1);
    const auto k = service->get(created.record.id);
    EXPECT_EQ(k.owner, "ci-bot");
    EXPECT_EQ(k.name, "deploy");
    EXPECT_EQ(k.created_by, "test");
    EXPECT_EQ(k.created_at, clock.now());
    EXPECT_EQ(k.expires_at, clock.now() + k_day);
    EXPECT_EQ(k.remaining, 5);
    EXPECT_EQ(k.status(clock.now()), "active");
    const auto j = k.to_json(clock.now());
    EXPECT_FALSE(j.contains("secret_hash"));
    EXPECT_FALSE(j.contains("prev_secret_hash"));
    EXPECT_FALSE(j.contains("key"));
}

// update replaces permissions and remaining uses, and verify sees it at once.
TEST_P(LifecycleTest, UpdatePermissionsAndRemaining) {
    const auto created = create();
    ASSERT_TRUE(service->verify(created.key).valid);  // now cached
    clock.advance(1000);
    KeyPatch patch;
    patch.permissions = std::vector<std::string>{"a", "b"};
    patch.remaining = std::optional<std::int64_t>(100);
    const auto updated = service->update(created.record.id, patch);
    EXPECT_EQ(updated.permissions, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(updated.remaining, 100);
    EXPECT_EQ(updated.updated_at, clock.now());
    EXPECT_EQ(updated.name, "deploy");  // untouched
    const auto r = service->verify(created.key);
    ASSERT_TRUE(r.valid);
    EXPECT_EQ(r.key->permissions, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(r.remaining, 99);
}

// update can set an expiry, remove it again, and make uses unlimited.
TEST_P(LifecycleTest, UpdateExpiryAndUnlimited) {
    const auto created = create("ci-bot", {}, clock.now() + k_day, 3);
    KeyPatch later;
    later.expires_at = std::optional<UnixMillis>(clock.now() + 10 * k_day);
    service->update(created.record.id, later);
    clock.advance(2 * k_day);
    EXPECT_TRUE(service->verify(created.key).valid);
    KeyPatch never;
    never.expires_at = std::optional<UnixMillis>();
    never.remaining = std::optional<std::int64_t>();
    const auto k = service->update(created.record.id, never);
    EXPECT_FALSE(k.expires_at.has_value());
    EXPECT_FALSE(k.remaining.has_value());
    clock.advance(100 * k_day);
    const auto r = service->verify(created.key);
    EXPECT_TRUE(r.valid);
    EXPECT_FALSE(r.remaining.has_value());
}

// Setting remaining to 0 exhausts the key.
TEST_P(LifecycleTest, UpdateRemainingZeroExhausts) {
    const auto created = create();
    KeyPatch patch;
    patch.remaining = std::optional<std::int64_t>(0);
    service->update(created.record.id, patch);
    EXPECT_EQ(service->verify(created.key).reason, "exhausted");
}

// Bad updates are invalid_argument and change nothing.
TEST_P(LifecycleTest, BadUpdatesChangeNothing) {
    const auto created = create("ci-bot", {"deploy:write"});
    const auto before = service->get(created.record.id);
    const auto events = event_rows();
    KeyPatch bad_perm;
    bad_perm.permissions = std::vector<std::string>{"a b"};
    KeyPatch past;
    past.expires_at = std::optional<UnixMillis>(clock.now() - 1);
    KeyPatch negative;
    negative.remaining = std::optional<std::int64_t>(-1);
    for (const auto* p : {&bad_perm, &past, &negative}) {
        EXPECT_EQ(error_code_of([&] { service->update(created.record.id, *p); }),
                  ErrorCode::invalid_argument);
    }
    const auto after = service->get(created.record.id);
    EXPECT_EQ(after.permissions, before.permissions);
    EXPECT_EQ(after.expires_at, before.expires_at);
    EXPECT_EQ(after.remaining, before.remaining);
    EXPECT_EQ(after.updated_at, before.updated_at);
    EXPECT_EQ(event_rows(), events);
}

// A revoked key cannot be updated; an absent one is not_found.
TEST_P(LifecycleTest, UpdateRevokedIsConflictAbsentIsNotFound) {
    const auto created = create();
    service->revoke(created.record.id);
    KeyPatch patch;
    patch.name = "new";
    EXPECT_EQ(error_code_of([&] { service->update(created.record.id, patch); }),
              ErrorCode::conflict);
    EXPECT_EQ(error_code_of([&] { service->update("nosuchkey123", patch); }), ErrorCode::not_found);
}

// Revoking twice changes nothing the second time (same time, no second event).
TEST_P(LifecycleTest, RevokeIsIdempotent) {
    const auto created = create();
    const auto first = service->revoke(created.record.id);
    ASSERT_TRUE(first.revoked_at.has_value());
    EXPECT_EQ(first.revoked_at, clock.now());
    const auto events = event_rows();
    clock.advance(k_hour);
    const auto second = service->revoke(created.record.id);
    EXPECT_EQ(second.revoked_at, first.revoked_at);
    EXPECT_EQ(second.updated_at, first.updated_at);
    EXPECT_EQ(event_rows(), events);
    EXPECT_EQ(service->get(created.record.id).status(clock.now()), "revoked");
    EXPECT_EQ(error_code_of([&] { service->revoke("nosuchkey123"); }), ErrorCode::not_found);
}

// A deleted key is gone: show is not_found, verify says unknown, delete again is not_found.
TEST_P(LifecycleTest, DeleteThenShowIsNotFound) {
    const auto created = create();
    ASSERT_TRUE(service->verify(created.key).valid);
    service->remove(created.record.id);
    EXPECT_EQ(error_code_of([&] { service->get(created.record.id); }), ErrorCode::not_found);
    EXPECT_EQ(service->verify(created.key).reason, "unknown");
    EXPECT_EQ(error_code_of([&] { service->remove(created.record.id); }), ErrorCode::not_found);
    EXPECT_EQ(key_rows(), 0);
}

// not_found names the id in its details.
TEST_P(LifecycleTest, NotFoundNamesTheId) {
    try {
        service->get("nosuchkey123");
        FAIL() << "found a key that does not exist";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::not_found);
        EXPECT_EQ(e.details().at("id"), "nosuchkey123");
    }
}

// Invalid create requests are invalid_argument and write no row and no event.
TEST_P(LifecycleTest, InvalidCreateWritesNothing) {
    const auto keys = key_rows();
    const auto events = event_rows();
    const std::vector<NewKey> bad{
        NewKey{.owner = ""},
        NewKey{.owner = "ci", .permissions = {"a b"}},
        NewKey{.owner = "ci", .permissions = {""}},
        NewKey{.owner = "ci", .permissions = {":write"}},
        NewKey{.owner = "ci", .expires_at = clock.now() - 1},
        NewKey{.owner = "ci", .expires_at = clock.now()},
        NewKey{.owner = "ci", .remaining = 0},
        NewKey{.owner = "ci", .remaining = -3},
        NewKey{.owner = "ci", .metadata = nlohmann::json::array()},
        NewKey{.owner = "ci\n"},
        NewKey{.owner = std::string(201, 'o')},
    };
    for (std::size_t i = 0; i < bad.size(); ++i) {
        SCOPED_TRACE(i);
        EXPECT_EQ(error_code_of([&] { service->create(bad[i], "test"); }),
                  ErrorCode::invalid_argument);
    }
    EXPECT_EQ(key_rows(), keys);
    EXPECT_EQ(event_rows(), events);
}

// The documented permission forms are accepted.
TEST_P(LifecycleTest, AcceptsDocumentedPermissionForms) {
    const auto k = create("ci", {"deploy:write", "keys:*", "admin", "*", "a.b-c_d:read"});
    EXPECT_EQ(service->get(k.record.id).permissions.size(), 5U);
}

// list filters by owner and status and honours the limit, oldest first.
TEST_P(LifecycleTest, ListFiltersByOwnerStatusAndLimit) {
    const auto a1 = create("alice");
    clock.advance(1);
    const auto b1 = create("bob");
    clock.advance(1);
    const auto a2 = create("alice");
    service->revoke(a2.record.id);
    auto ids = [](const std::vector<KeyRecord>& ks) {
        std::vector<std::string> out;
        for (const auto& k : ks) {
            out.push_back(k.id);
        }
        return out;
    };
    EXPECT_EQ(ids(service->list({})), (std::vector{a1.record.id, b1.record.id, a2.record.id}));
    EXPECT_EQ(ids(service->list({.owner = "alice"})), (std::vector{a1.record.id, a2.record.id}));
    EXPECT_EQ(ids(service->list({.owner = "alice", .status = "revoked"})),
              (std::vector{a2.record.id}));
    EXPECT_EQ(ids(service->list({.status = "active"})), (std::vector{a1.record.id, b1.record.id}));
    EXPECT_EQ(ids(service->list({.limit = 2})), (std::vector{a1.record.id, b1.record.id}));
    EXPECT_TRUE(service->list({.owner = "carol"}).empty());
}

// list pages by (created_at, id): from a position inside a run of keys made in
// the same millisecond, the next page starts right after it (nothing lost or
// repeated); the status filter is exact at `now` (expired, exhausted).
TEST_P(LifecycleTest, ListPagesAfterAPositionAmongEqualTimes) {
    std::vector<std::string> made;
    for (int i = 0; i < 9; ++i) {
        made.push_back(create("team").record.id);
    }
    std::sort(made.begin(), made.end());  // one created_at: id order
    std::vector<std::string> paged;
    std::optional<ListFilter::Position> after;
    for (int page = 0; page < 10; ++page) {
        const auto ks = service->list({.owner = "team", .after = after, .limit = 4});
        for (const auto& k : ks) {
            paged.push_back(k.id);
        }
        if (ks.size() < 4) {
            break;
        }
        after = ListFilter::Position{ks.back().created_at, ks.back().id};
    }
    EXPECT_EQ(paged, made);

    const auto expiring = create("x", {}, clock.now() + k_hour);
    service->update(made[0], KeyPatch{.remaining = std::optional<std::int64_t>(0)});
    clock.advance(k_hour);
    auto ids = [&](const char* status) {
        std::vector<std::string> out;
        for (const auto& k : service->list({.status = std::string(status)})) {
            out.push_back(k.id);
        }
        return out;
    };
    EXPECT_EQ(ids("expired"), std::vector<std::string>{expiring.record.id});
    EXPECT_EQ(ids("exhausted"), std::vector<std::string>{made[0]});
    EXPECT_EQ(ids("active").size(), 8U);
}

// has_active_admin counts only active keys holding "admin".
TEST_P(LifecycleTest, HasActiveAdmin) {
    EXPECT_FALSE(service->has_active_admin());
    create("ops", {"keys:write"});
    EXPECT_FALSE(service->has_active_admin());
    create("root", {"admin"}, clock.now() + k_hour);
    EXPECT_TRUE(service->has_active_admin());
    clock.advance(k_hour);
    EXPECT_FALSE(service->has_active_admin());
}

// Every change appends an event for the key's topic, never holding a secret.
TEST_P(LifecycleTest, ChangesAppendEvents) {
    const auto k = create();
    service->rotate(k.record.id, k_hour);
    KeyPatch p;
    p.name = "renamed";
    service->update(k.record.id, p);
    service->revoke(k.record.id);
    service->remove(k.record.id);
    const auto rows = store->transaction(
        [&](store::Connection& c) {
            return c.query("SELECT type, topic, data FROM events ORDER BY seq");
        },
        store::TxMode::read);
    std::vector<std::string> types;
    for (const auto& r : rows) {
        types.push_back(r.get_text(0));
        EXPECT_EQ(r.get_text(1), "keys/" + k.record.id);
        EXPECT_EQ(r.get_text(2).find(k.record.secret_hash), std::string::npos);
    }
    EXPECT_EQ(types, (std::vector<std::string>{"key.created", "key.rotated", "key.updated",
                                               "key.revoked", "key.deleted"}));
}

PB_INSTANTIATE_BACKENDS(LifecycleTest);

}  // namespace
}  // namespace pb::keys::test
