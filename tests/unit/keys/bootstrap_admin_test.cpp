#include <thread>

#include <gtest/gtest.h>

#include "tests/unit/keys/key_fixture.hpp"

namespace pb::keys::test {
namespace {

class BootstrapAdminTest : public KeyServiceTest {};

// The first admin is made once: a second call, even from another "process" racing on the same file,
// makes none.
TEST_P(BootstrapAdminTest, MadeOnceEvenWhenTwoProcessesRace) {
    auto other_store = store::open_store(db_path(), store::StoreOptions{.pool_size = 2});
    KeyService other(*other_store, clock);
    std::optional<CreatedKey> a;
    std::optional<CreatedKey> b;
    std::thread t1([&] { a = service->create_first_admin(); });
    std::thread t2([&] { b = other.create_first_admin(); });
    t1.join();
    t2.join();
    EXPECT_NE(a.has_value(), b.has_value());
    EXPECT_EQ(key_rows(), 1);
    EXPECT_FALSE(service->create_first_admin().has_value());
    EXPECT_TRUE(service->has_active_admin());
}

// Once the admin key is revoked, a new first admin can be made (recovery on restart).
TEST_P(BootstrapAdminTest, RevokedAdminDoesNotCount) {
    const auto first = service->create_first_admin();
    ASSERT_TRUE(first.has_value());
    service->revoke(first->record.id);
    EXPECT_FALSE(service->has_active_admin());
    EXPECT_TRUE(service->create_first_admin().has_value());
}

// What runs before the commit (pbd writing the key file) sees the key being
// made; when it fails, no key is committed, so no admin key exists that no file holds.
TEST_P(BootstrapAdminTest, NothingCommittedWhenBeforeCommitFails) {
    std::string seen;
    EXPECT_THROW(service->create_first_admin([&](const CreatedKey& k) {
        seen = k.key;
        throw Error(ErrorCode::unavailable, "disk full");
    }),
                 Error);
    EXPECT_FALSE(seen.empty());
    EXPECT_EQ(key_rows(), 0);
    EXPECT_FALSE(service->has_active_admin());
}

// The bootstrap key says so in its public view; a key made by keys.create does not.
TEST_P(BootstrapAdminTest, MarkedAsBootstrapKey) {
    const auto first = service->create_first_admin();
    ASSERT_TRUE(first.has_value());
    EXPECT_EQ(first->record.to_json(clock.now())["bootstrap"], true);
    const auto other = service->create(NewKey{.owner = "ops", .permissions = {"admin"}}, "ops");
    EXPECT_EQ(other.record.to_json(clock.now())["bootstrap"], false);
}

PB_INSTANTIATE_BACKENDS(BootstrapAdminTest);

}  // namespace
}  // namespace pb::keys::test
