// keys::admit_key, the admission keys.verify and pbd's gate share: the key
// first, then bans, then its limit, then one use; nothing spent on a refusal.
#include "common/keys/admission.hpp"

#include "common/limits/ban_service.hpp"
#include "common/limits/policy.hpp"
#include "tests/unit/keys/key_fixture.hpp"

namespace pb::keys::test {
namespace {

class AdmissionTest : public KeyServiceTest {
  protected:
    AdmissionTest() {
        bans = std::make_unique<limits::BanService>(*store, clock, limits::BanSettings{});
        limits::LimitSettings s;
        s.key = limits::parse_policy("100/s", 0, "key");
        limits = std::make_unique<limits::LimitService>(clock, *bans, s);
    }

    Admission admit(const std::string& key, const AdmitOptions& options = {}) {
        return admit_key({*service, *bans, *limits, clock}, key, options);
    }

    std::int64_t remaining(const std::string& id) {
        return scalar("SELECT remaining FROM api_keys WHERE id = $1", {id});
    }

    std::unique_ptr<limits::BanService> bans;
    std::unique_ptr<limits::LimitService> limits;
};

// A banned key (or owner) is refused as "banned" and keeps its uses; a wrong secret for its id
// is "unknown", never "banned" (a key that does not verify is not probed for bans).
TEST_P(AdmissionTest, BannedKeySpendsNothing) {
    const auto k = create("svc", {}, std::nullopt, 5);
    bans->add(limits::NewBan{.target = "key:" + k.record.id}, "local:test");
    const auto refused = admit(k.key);
    EXPECT_FALSE(refused.admitted);
    EXPECT_EQ(refused.reason, "banned");
    ASSERT_NE(refused.ban, nullptr);
    EXPECT_EQ(refused.to_json(clock.now()),
              (nlohmann::json{{"valid", false}, {"reason", "banned"}}));
    EXPECT_EQ(remaining(k.record.id), 5);
    const auto rotated = service->rotate(k.record.id, 0);
    EXPECT_EQ(admit(k.key).reason, "unknown");  // the old secret no longer verifies
    EXPECT_EQ(admit(rotated.key).reason, "banned");

    bans->remove("key:" + k.record.id);
    bans->add(limits::NewBan{.target = "user:svc"}, "local:test");
    EXPECT_EQ(admit(rotated.key).reason, "banned");
    EXPECT_EQ(remaining(k.record.id), 5);
}

// Over its own limit: "rate_limited" with retry_after_ms, no use spent; a re-check (Count::no)
// counts nothing, and LimitExempt skips the limit only.
TEST_P(AdmissionTest, RateLimitedKeySpendsNothing) {
    auto k = service->create(
        NewKey{.owner = "svc", .remaining = 10, .rate_limit = std::string("2/min")}, "test");
    EXPECT_TRUE(admit(k.key, {.count = Count::no}).admitted);
    EXPECT_TRUE(admit(k.key).admitted);
    const auto second = admit(k.key);
    EXPECT_TRUE(second.admitted);
    EXPECT_EQ(second.remaining, 8);
    const auto refused = admit(k.key);
    EXPECT_EQ(refused.reason, "rate_limited");
    EXPECT_GT(refused.to_json(clock.now()).value("retry_after_ms", 0), 0);
    EXPECT_EQ(remaining(k.record.id), 8);
    const auto exempt = admit(k.key, {.exempt = LimitExempt::yes});
    EXPECT_TRUE(exempt.admitted);
    EXPECT_EQ(exempt.remaining, 7);
}

// The last use admits with remaining 0; the next is "exhausted" without a limit spent on it
// being mistaken for a use.
TEST_P(AdmissionTest, LastUseThenExhausted) {
    const auto k = create("svc", {}, std::nullopt, 1);
    const auto last = admit(k.key);
    EXPECT_TRUE(last.admitted);
    EXPECT_EQ(last.remaining, 0);
    EXPECT_EQ(admit(k.key).reason, "exhausted");
    EXPECT_EQ(remaining(k.record.id), 0);
}

PB_INSTANTIATE_BACKENDS(AdmissionTest);

}  // namespace
}  // namespace pb::keys::test
