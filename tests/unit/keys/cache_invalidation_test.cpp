#include <gtest/gtest.h>

#include "common/keys/format.hpp"
#include "tests/unit/keys/key_fixture.hpp"

namespace pb::keys::test {
namespace {

// Two services on one file, each with its own Store: "this process" and "another".
class CacheInvalidationTest : public KeyServiceTest {
  protected:
    CacheInvalidationTest()
        : other_store(store::open_store(db_path(), store::StoreOptions{.pool_size = 2})),
          other(std::make_unique<KeyService>(*other_store, clock)) {}

    std::unique_ptr<store::Store> other_store;
    std::unique_ptr<KeyService> other;
};

// A key created elsewhere verifies here at once.
TEST_P(CacheInvalidationTest, SeesKeysCreatedElsewhere) {
    const auto created = other->create(NewKey{.owner = "ci"}, "other");
    EXPECT_TRUE(service->verify(created.key).valid);
}

// A revocation elsewhere fails this service's very next verify.
TEST_P(CacheInvalidationTest, RevokeElsewhereFailsTheNextVerify) {
    const auto created = create();
    ASSERT_TRUE(service->verify(created.key).valid);  // cached here
    ASSERT_TRUE(service->verify(created.key).valid);
    other->revoke(created.record.id);
    EXPECT_TRUE(seen([&] { return service->verify(created.key).reason == "revoked"; }));
    EXPECT_FALSE(service->verify(created.key).valid);
}

// A deletion elsewhere makes the key unknown here at once.
TEST_P(CacheInvalidationTest, DeleteElsewhereFailsTheNextVerify) {
    const auto created = create();
    ASSERT_TRUE(service->verify(created.key).valid);
    other->remove(created.record.id);
    EXPECT_TRUE(seen([&] { return service->verify(created.key).reason == "unknown"; }));
}

// A rotation without grace elsewhere stops the old secret here at once.
TEST_P(CacheInvalidationTest, RotateElsewhereStopsTheOldSecret) {
    const auto created = create();
    ASSERT_TRUE(service->verify(created.key).valid);
    const auto rotated = other->rotate(created.record.id, 0);
    EXPECT_TRUE(seen([&] { return service->verify(created.key).reason == "unknown"; }));
    EXPECT_TRUE(service->verify(rotated.key).valid);
}

// A permission change elsewhere is what this service reports next.
TEST_P(CacheInvalidationTest, UpdateElsewhereIsSeenAtOnce) {
    const auto created = create("ci", {"deploy:write"});
    ASSERT_TRUE(service->verify(created.key).valid);
    KeyPatch p;
    p.permissions = std::vector<std::string>{"deploy:read"};
    other->update(created.record.id, p);
    EXPECT_TRUE(seen([&] {
        const auto r = service->verify(created.key);
        return r.valid && r.key->permissions == std::vector<std::string>{"deploy:read"};
    }));
}

// Changes to one key elsewhere leave this service's other keys valid.
TEST_P(CacheInvalidationTest, OtherKeysStayValid) {
    const auto a = create("a");
    const auto b = create("b");
    ASSERT_TRUE(service->verify(a.key).valid);
    ASSERT_TRUE(service->verify(b.key).valid);
    other->revoke(a.record.id);
    EXPECT_TRUE(seen([&] { return service->verify(a.key).reason == "revoked"; }));
    EXPECT_TRUE(service->verify(b.key).valid);
}

// Uses are shared: remaining counts down across both services.
TEST_P(CacheInvalidationTest, RemainingIsSharedAcrossServices) {
    const auto created = create("ci", {}, std::nullopt, 2);
    EXPECT_TRUE(service->verify(created.key).valid);
    EXPECT_TRUE(other->verify(created.key).valid);
    EXPECT_EQ(service->verify(created.key).reason, "exhausted");
    EXPECT_EQ(other->verify(created.key).reason, "exhausted");
}

// Many changes elsewhere (more than one outbox batch) are all applied.
TEST_P(CacheInvalidationTest, AppliesLongRunsOfEvents) {
    const auto target = create("target");
    ASSERT_TRUE(service->verify(target.key).valid);
    store::Store& s = *other_store;
    s.transaction([&](store::Connection& c) {
        for (int i = 0; i < 1500; ++i) {
            c.exec(
                "INSERT INTO events (topic, type, data, created_at) VALUES ('keys/x', 'noise', "
                "'{}', 1)");
        }
    });
    other->revoke(target.record.id);
    EXPECT_TRUE(seen([&] { return service->verify(target.key).reason == "revoked"; }));
}

PB_INSTANTIATE_BACKENDS(CacheInvalidationTest);

}  // namespace
}  // namespace pb::keys::test
