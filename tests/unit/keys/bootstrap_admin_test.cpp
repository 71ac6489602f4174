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
    std::thread t1([&] { a = service->create_first_admin("t1"); });
    std::thread t2([&] { b = other.create_first_admin("t2"); });
    t1.join();
    t2.join();
    EXPECT_NE(a.has_value(), b.has_value());
    EXPECT_EQ(key_rows(), 1);
    EXPECT_FALSE(service->create_first_admin("again").has_value());
    EXPECT_TRUE(service->has_active_admin());
}

// Once the admin key is revoked, a new first admin can be made (recovery on restart).
TEST_P(BootstrapAdminTest, RevokedAdminDoesNotCount) {
    const auto first = service->create_first_admin("t");
    ASSERT_TRUE(first.has_value());
    service->revoke(first->record.id);
    EXPECT_FALSE(service->has_active_admin());
    EXPECT_TRUE(service->create_first_admin("t").has_value());
}

PB_INSTANTIATE_BACKENDS(BootstrapAdminTest);

}  // namespace
}  // namespace pb::keys::test
