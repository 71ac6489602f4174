#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/keys/format.hpp"
#include "tests/unit/keys/key_fixture.hpp"

namespace pb::keys::test {
namespace {

using VerifyTest = KeyServiceTest;

// A fresh key verifies, returning its identity and permissions.
TEST_P(VerifyTest, FreshKeyIsValid) {
    const auto created = create("ci-bot", {"deploy:write", "keys:read"});
    const auto r = service->verify(created.key);
    ASSERT_TRUE(r.valid) << r.reason;
    EXPECT_EQ(r.reason, "");
    ASSERT_NE(r.key, nullptr);
    EXPECT_EQ(r.key->id, created.record.id);
    EXPECT_EQ(r.key->owner, "ci-bot");
    EXPECT_EQ(r.key->permissions, (std::vector<std::string>{"deploy:write", "keys:read"}));
    EXPECT_FALSE(r.remaining.has_value());
    const auto j = r.to_json(clock.now());
    EXPECT_EQ(j.at("valid"), true);
    EXPECT_EQ(j.at("id"), created.record.id);
    EXPECT_FALSE(j.dump().find(created.key) != std::string::npos);
}

// Verifying again and again stays valid (the cache answers the same).
TEST_P(VerifyTest, RepeatedVerifyStaysValid) {
    const auto created = create();
    for (int i = 0; i < 5; ++i) {
        EXPECT_TRUE(service->verify(created.key).valid) << i;
    }
}

// Text that is not a well-formed key is "malformed".
TEST_P(VerifyTest, MalformedKeys) {
    const auto created = create();
    auto typo = created.key;
    typo[20] = typo[20] == 'x' ? 'y' : 'x';
    for (const std::string& bad :
         {std::string(), std::string("garbage"), typo, created.key.substr(1), created.key + " "}) {
        SCOPED_TRACE(bad);
        const auto r = service->verify(bad);
        EXPECT_FALSE(r.valid);
        EXPECT_EQ(r.reason, "malformed");
        EXPECT_EQ(r.key, nullptr);
        EXPECT_EQ(r.to_json(clock.now()),
                  (nlohmann::json{{"valid", false}, {"reason", "malformed"}}));
    }
}

// The right id with a different (well-formed) secret is "unknown", as is an unknown id.
TEST_P(VerifyTest, UnknownKeys) {
    const auto created = create();
    const auto wrong_secret = make_key(created.record.id);
    ASSERT_TRUE(parse_key(wrong_secret).has_value());
    auto r = service->verify(wrong_secret);
    EXPECT_FALSE(r.valid);
    EXPECT_EQ(r.reason, "unknown");
    r = service->verify(make_key(new_key_id()));
    EXPECT_FALSE(r.valid);
    EXPECT_EQ(r.reason, "unknown");
    // The real key is unaffected by the failed attempts.
    EXPECT_TRUE(service->verify(created.key).valid);
}

// A revoked key is "revoked" from the very next verify.
TEST_P(VerifyTest, RevokedKey) {
    const auto created = create();
    ASSERT_TRUE(service->verify(created.key).valid);
    service->revoke(created.record.id);
    const auto r = service->verify(created.key);
    EXPECT_FALSE(r.valid);
    EXPECT_EQ(r.reason, "revoked");
}

// A key is valid until just before its expiry and "expired" from that instant on.
TEST_P(VerifyTest, ExpiredKey) {
    const auto created = create("ci-bot", {}, clock.now() + k_hour);
    ASSERT_TRUE(service->verify(created.key).valid);
    clock.advance(k_hour - 1);
    EXPECT_TRUE(service->verify(created.key).valid);
    clock.advance(1);
    const auto r = service->verify(created.key);
    EXPECT_FALSE(r.valid);
    EXPECT_EQ(r.reason, "expired");
    EXPECT_EQ(service->get(created.record.id).status(clock.now()), "expired");
}

// Remaining 2: two successes counting down, then "exhausted", never below zero.
TEST_P(VerifyTest, ExhaustedKey) {
    const auto created = create("ci-bot", {}, std::nullopt, 2);
    auto r = service->verify(created.key);
    ASSERT_TRUE(r.valid);
    EXPECT_EQ(r.remaining, 1);
    r = service->verify(created.key);
    ASSERT_TRUE(r.valid);
    EXPECT_EQ(r.remaining, 0);
    for (int i = 0; i < 3; ++i) {
        r = service->verify(created.key);
        EXPECT_FALSE(r.valid);
        EXPECT_EQ(r.reason, "exhausted");
    }
    EXPECT_EQ(scalar("SELECT remaining FROM api_keys WHERE id = $1", {created.record.id}), 0);
    EXPECT_EQ(service->get(created.record.id).status(clock.now()), "exhausted");
}

// Concurrent verifications spend exactly the remaining uses, never more.
TEST_P(VerifyTest, ConcurrentVerifySpendsExactlyRemaining) {
    const auto created = create("ci-bot", {}, std::nullopt, 50);
    std::atomic<int> valid{0};
    std::atomic<int> exhausted{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 20; ++i) {
                const auto r = service->verify(created.key);
                if (r.valid) {
                    ++valid;
                } else if (r.reason == "exhausted") {
                    ++exhausted;
                }
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    EXPECT_EQ(valid.load(), 50);
    EXPECT_EQ(exhausted.load(), 8 * 20 - 50);
    EXPECT_EQ(scalar("SELECT remaining FROM api_keys WHERE id = $1", {created.record.id}), 0);
}

// Failed verifications spend no uses.
TEST_P(VerifyTest, FailedAttemptsSpendNoUses) {
    const auto created = create("ci-bot", {}, std::nullopt, 1);
    EXPECT_FALSE(service->verify(make_key(created.record.id)).valid);
    EXPECT_EQ(scalar("SELECT remaining FROM api_keys WHERE id = $1", {created.record.id}), 1);
    EXPECT_TRUE(service->verify(created.key).valid);
}

// Revocation is reported before expiry and exhaustion.
TEST_P(VerifyTest, RevokedWinsOverExpired) {
    const auto created = create("ci-bot", {}, clock.now() + k_hour, 1);
    service->revoke(created.record.id);
    clock.advance(2 * k_hour);
    EXPECT_EQ(service->verify(created.key).reason, "revoked");
}

// A wrong secret for a revoked key is "unknown": no hint about the real key's state.
TEST_P(VerifyTest, WrongSecretOfRevokedKeyIsUnknown) {
    const auto created = create();
    service->revoke(created.record.id);
    EXPECT_EQ(service->verify(make_key(created.record.id)).reason, "unknown");
}

// flush_usage writes the last verification time; nothing is written before it.
TEST_P(VerifyTest, FlushUsageSetsLastUsedAt) {
    const auto created = create();
    const std::string sql = "SELECT COUNT(*) FROM api_keys WHERE id = $1 AND last_used_at IS NULL";
    clock.advance(5000);
    const auto used_at = clock.now();
    ASSERT_TRUE(service->verify(created.key).valid);
    EXPECT_EQ(scalar(sql, {created.record.id}), 1);
    clock.advance(5000);
    service->flush_usage();
    EXPECT_EQ(scalar(sql, {created.record.id}), 0);
    EXPECT_EQ(scalar("SELECT last_used_at FROM api_keys WHERE id = $1", {created.record.id}),
              used_at);
    EXPECT_EQ(service->get(created.record.id).last_used_at, used_at);
}

// A failed verification is not a use.
TEST_P(VerifyTest, FailedVerifyIsNotAUse) {
    const auto created = create();
    (void)service->verify(make_key(created.record.id));
    service->flush_usage();
    EXPECT_FALSE(service->get(created.record.id).last_used_at.has_value());
}

PB_INSTANTIATE_BACKENDS(VerifyTest);

}  // namespace
}  // namespace pb::keys::test
