#include <gtest/gtest.h>

#include "common/core/time_format.hpp"
#include "tests/unit/keys/key_fixture.hpp"

namespace pb::keys::test {
namespace {

using RotateTest = KeyServiceTest;

// With a grace period both secrets work; after it only the new one does.
TEST_P(RotateTest, GraceKeepsTheOldSecretForAWhile) {
    const auto old_key = create("ci-bot", {"deploy:write"});
    ASSERT_TRUE(service->verify(old_key.key).valid);
    const auto rotated = service->rotate(old_key.record.id, k_hour);
    EXPECT_EQ(rotated.record.id, old_key.record.id);
    EXPECT_NE(rotated.key, old_key.key);
    EXPECT_TRUE(service->verify(rotated.key).valid);
    EXPECT_TRUE(service->verify(old_key.key).valid);
    clock.advance(k_hour - 1);
    EXPECT_TRUE(service->verify(old_key.key).valid);
    clock.advance(1);
    const auto r = service->verify(old_key.key);
    EXPECT_FALSE(r.valid);
    EXPECT_EQ(r.reason, "unknown");
    EXPECT_TRUE(service->verify(rotated.key).valid);
}

// Without grace the old secret stops working at once.
TEST_P(RotateTest, NoGraceInvalidatesAtOnce) {
    const auto old_key = create();
    ASSERT_TRUE(service->verify(old_key.key).valid);
    const auto rotated = service->rotate(old_key.record.id, 0);
    EXPECT_EQ(service->verify(old_key.key).reason, "unknown");
    EXPECT_TRUE(service->verify(rotated.key).valid);
}

// Rotation keeps the key's settings and says until when the old secret works.
TEST_P(RotateTest, KeepsSettings) {
    const auto old_key = create("ci-bot", {"a:read", "b:write"}, clock.now() + 30 * k_day, 10);
    const auto rotated = service->rotate(old_key.record.id, k_hour);
    const auto after = service->get(old_key.record.id);
    EXPECT_EQ(after.owner, "ci-bot");
    EXPECT_EQ(after.permissions, old_key.record.permissions);
    EXPECT_EQ(after.expires_at, old_key.record.expires_at);
    EXPECT_EQ(after.remaining, 10);
    EXPECT_NE(after.secret_hash, old_key.record.secret_hash);
    EXPECT_EQ(after.to_json(clock.now()).at("previous_secret_valid_until"),
              format_rfc3339(clock.now() + k_hour));
    const auto r = service->verify(rotated.key);
    ASSERT_TRUE(r.valid);
    EXPECT_EQ(r.key->permissions, old_key.record.permissions);
}

// A second rotation ends the first one's grace: only the latest two secrets matter.
TEST_P(RotateTest, SecondRotationDropsTheOldestSecret) {
    const auto first = create();
    const auto second = service->rotate(first.record.id, k_hour);
    const auto third = service->rotate(first.record.id, k_hour);
    EXPECT_EQ(service->verify(first.key).reason, "unknown");
    EXPECT_TRUE(service->verify(second.key).valid);
    EXPECT_TRUE(service->verify(third.key).valid);
}

// A revoked key cannot be rotated back to life; an absent key is not_found.
TEST_P(RotateTest, RevokedIsConflictAbsentIsNotFound) {
    const auto k = create();
    service->revoke(k.record.id);
    EXPECT_EQ(error_code_of([&] { service->rotate(k.record.id, 0); }), ErrorCode::conflict);
    EXPECT_EQ(service->verify(k.key).reason, "revoked");
    EXPECT_EQ(error_code_of([&] { service->rotate("nosuchkey123", 0); }), ErrorCode::not_found);
}

// Revoking during the grace period stops both secrets.
TEST_P(RotateTest, RevokeDuringGraceStopsBoth) {
    const auto old_key = create();
    const auto rotated = service->rotate(old_key.record.id, k_hour);
    service->revoke(old_key.record.id);
    EXPECT_EQ(service->verify(old_key.key).reason, "revoked");
    EXPECT_EQ(service->verify(rotated.key).reason, "revoked");
}

PB_INSTANTIATE_BACKENDS(RotateTest);

}  // namespace
}  // namespace pb::keys::test
