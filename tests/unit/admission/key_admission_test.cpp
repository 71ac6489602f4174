// The admission of an API key that keys.verify and pbd's doors share: the key
// first, then bans, then its limit, then one use; nothing spent on a refusal.
#include "tests/unit/admission/pipeline_fixture.hpp"

namespace pb::admission::test {
namespace {

class AdmissionTest : public ::testing::TestWithParam<Backend> {
  protected:
    AdmissionTest() : parts(GetParam()) {}

    // keys.verify's admission of `key`.
    Verdict admit(const std::string& key) {
        return parts.pipeline->admit({.door = Door::verify, .credential = key});
    }
    // A WebSocket session's re-check of `key`: counts nothing.
    Verdict recheck(const std::string& key) {
        return parts.pipeline->admit({.door = Door::ws_check, .credential = key});
    }
    // An op on a socket whose client is on bans.allow: exempt from the limit only.
    Verdict exempt(const std::string& key) {
        return parts.pipeline->admit(
            {.door = Door::ws_op, .credential = key, .client = limits::parse_ip("127.0.0.1")});
    }
    std::int64_t remaining(const std::string& id) { return parts.remaining(id); }

    PipelineParts parts;
    ManualClock& clock = parts.clock;
};

// A banned key (or owner) is refused as "banned" and keeps its uses; a wrong secret for its id
// is "unknown", never "banned" (a key that does not verify is not probed for bans).
TEST_P(AdmissionTest, BannedKeySpendsNothing) {
    const auto k = parts.key({}, 5);
    parts.bans->add(limits::NewBan{.target = "key:" + k.record.id}, "local:test");
    const auto refused = admit(k.key);
    EXPECT_FALSE(refused.admitted());
    EXPECT_EQ(refused.reason, "banned");
    ASSERT_NE(refused.ban, nullptr);
    EXPECT_EQ(refused.to_verify_json(clock.now()),
              (nlohmann::json{{"valid", false}, {"reason", "banned"}}));
    EXPECT_EQ(remaining(k.record.id), 5);
    const auto rotated = parts.keys->rotate(k.record.id, 0);
    EXPECT_EQ(admit(k.key).reason, "unknown");  // the old secret no longer verifies
    EXPECT_EQ(admit(rotated.key).reason, "banned");

    parts.bans->remove("key:" + k.record.id);
    parts.bans->add(limits::NewBan{.target = "user:svc"}, "local:test");
    EXPECT_EQ(admit(rotated.key).reason, "banned");
    EXPECT_EQ(remaining(k.record.id), 5);
}

// Over its own limit: "rate_limited" with retry_after_ms, no use spent; a re-check (Door::ws_check)
// counts nothing, and a client on bans.allow skips the limit only.
TEST_P(AdmissionTest, RateLimitedKeySpendsNothing) {
    auto k = parts.keys->create(
        keys::NewKey{.owner = "svc", .remaining = 10, .rate_limit = std::string("2/min")}, "test");
    EXPECT_TRUE(recheck(k.key).admitted());
    EXPECT_TRUE(admit(k.key).admitted());
    const auto second = admit(k.key);
    EXPECT_TRUE(second.admitted());
    EXPECT_EQ(second.remaining, 8);
    const auto refused = admit(k.key);
    EXPECT_EQ(refused.reason, "rate_limited");
    EXPECT_GT(refused.to_verify_json(clock.now()).value("retry_after_ms", 0), 0);
    EXPECT_EQ(remaining(k.record.id), 8);
    const auto exempted = exempt(k.key);
    EXPECT_TRUE(exempted.admitted());
    EXPECT_EQ(exempted.remaining, 7);
}

// The last use admits with remaining 0; the next is "exhausted" without a limit spent on it
// being mistaken for a use.
TEST_P(AdmissionTest, LastUseThenExhausted) {
    const auto k = parts.key({}, 1);
    const auto last = admit(k.key);
    EXPECT_TRUE(last.admitted());
    EXPECT_EQ(last.remaining, 0);
    EXPECT_EQ(admit(k.key).reason, "exhausted");
    EXPECT_EQ(remaining(k.record.id), 0);
}

PB_INSTANTIATE_BACKENDS(AdmissionTest);

}  // namespace
}  // namespace pb::admission::test
