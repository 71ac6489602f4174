// Named limits at admission: a key's and its identity's, with costs, all or
// nothing, shadow ones reported and never refusing; bad names and costs are
// invalid_argument and spend nothing.
#include "common/keys/identity_service.hpp"
#include "tests/support/errors.hpp"
#include "tests/unit/admission/pipeline_fixture.hpp"

namespace pb::admission::test {
namespace {

using nlohmann::json;
using pb::test::error_code_of;

class NamedLimitsTest : public ::testing::TestWithParam<Backend> {
  protected:
    NamedLimitsTest() : parts(GetParam(), {.key_rate = "off"}) {}

    Verdict verify(const std::string& key, std::vector<keys::LimitCost> costs) {
        return parts.pipeline->admit(
            {.door = Door::verify, .credential = key, .limit_costs = &costs});
    }
    Verdict verify(const std::string& key) {
        return parts.pipeline->admit({.door = Door::verify, .credential = key});
    }
    keys::CreatedKey key(json limits, std::optional<std::string> identity = std::nullopt,
                         std::optional<std::int64_t> remaining = std::nullopt) {
        return parts.keys->create(keys::NewKey{.owner = "svc",
                                               .remaining = remaining,
                                               .identity_id = std::move(identity),
                                               .limits = std::move(limits)},
                                  "test");
    }
    void identity(const std::string& id, json limits) {
        parts.keys->identities().create(keys::NewIdentity{.id = id, .limits = std::move(limits)},
                                        "test");
    }
    const NamedOutcome* outcome(const Verdict& v, const std::string& name) {
        for (const auto& n : v.named) {
            if (n.name == name) {
                return &n;
            }
        }
        return nullptr;
    }

    PipelineParts parts;
};

// A verify names what it spends: tokens at 250, and the auto limit at 1;
// each limit answers its remaining; the refusal names the limit.
TEST_P(NamedLimitsTest, CostsAreSpentAndTheRefusalNamesTheLimit) {
    const auto k = key(json::array({"requests=10/min:auto", "tokens=1000/day"}));
    auto v = verify(k.key, {{"tokens", 250}});
    ASSERT_TRUE(v.admitted());
    ASSERT_EQ(v.named.size(), 2u);
    EXPECT_EQ(outcome(v, "tokens")->result.remaining, 750);
    EXPECT_EQ(outcome(v, "requests")->result.remaining, 9);
    const auto j = v.to_verify_json(parts.clock.now());
    EXPECT_EQ(j["limits"].size(), 2u);
    EXPECT_EQ(verify(k.key, {{"tokens", 750}}).named.size(), 2u);
    const auto refused = verify(k.key, {{"tokens", 1}});
    EXPECT_FALSE(refused.admitted());
    EXPECT_EQ(refused.reason, "rate_limited");
    EXPECT_EQ(refused.refused_limit, "tokens");
    EXPECT_EQ(refused.refusal->code(), ErrorCode::rate_limited);
    const auto answer = refused.to_verify_json(parts.clock.now());
    EXPECT_EQ(answer["limit"], "tokens");
    EXPECT_GT(answer["retry_after_ms"].get<std::int64_t>(), 0);
    // All or nothing: the refused verify spent no request either.
    EXPECT_EQ(outcome(verify(k.key), "requests")->result.remaining, 7);
}

// An identity's limits are shared by its keys; a key's own limit of the same
// name hides the identity's for that key.
TEST_P(NamedLimitsTest, AnIdentitysLimitsAreSharedByItsKeys) {
    identity("acme", json::array({"requests=3/min:auto"}));
    const auto a = key(json::array(), "acme");
    const auto b = key(json::array(), "acme");
    const auto own = key(json::array({"requests=100/min:auto"}), "acme");
    EXPECT_TRUE(verify(a.key).admitted());
    EXPECT_TRUE(verify(b.key).admitted());
    EXPECT_TRUE(verify(a.key).admitted());
    const auto refused = verify(b.key);
    EXPECT_EQ(refused.refused_limit, "requests");
    EXPECT_TRUE(verify(own.key).admitted());
    const auto answer = verify(own.key).to_verify_json(parts.clock.now());
    EXPECT_EQ(answer["identity"]["id"], "acme");
    EXPECT_EQ(answer["limits"][0]["remaining"], 98);
    parts.clock.advance(60'000);
    EXPECT_TRUE(verify(b.key).admitted());
}

// A shadow limit counts and reports shadow_limited; it never refuses.
TEST_P(NamedLimitsTest, ShadowLimitsNeverRefuse) {
    const auto k = key(json::array({"requests=2/min:auto:shadow"}));
    EXPECT_TRUE(verify(k.key).admitted());
    EXPECT_TRUE(verify(k.key).admitted());
    const auto over = verify(k.key);
    ASSERT_TRUE(over.admitted());
    const auto j = over.to_verify_json(parts.clock.now());
    EXPECT_EQ(j["shadow_limited"], json::array({"requests"}));
    EXPECT_EQ(j["limits"][0]["allowed"], false);
    EXPECT_EQ(j["limits"][0]["shadow"], true);
    EXPECT_EQ(parts.limiter->named_shadow_denied(), 1u);  // for pb_limit_shadow_denied_total
}

// Unknown names and costs above a limit's burst are invalid_argument, and
// nothing is spent: neither the other limits nor a use.
TEST_P(NamedLimitsTest, BadNamesAndCostsSpendNothing) {
    const auto k = key(json::array({"requests=10/min:auto", "tokens=100/day"}), std::nullopt, 5);
    EXPECT_EQ(error_code_of([&] { verify(k.key, {{"bytes", 1}}); }), ErrorCode::invalid_argument);
    EXPECT_EQ(error_code_of([&] {
                  verify(k.key, {{"tokens", 101}});
              }),
              ErrorCode::invalid_argument);
    EXPECT_EQ(error_code_of([&] {
                  verify(k.key, {{"tokens", 1}, {"bytes", 1}});
              }),
              ErrorCode::invalid_argument);
    EXPECT_EQ(parts.remaining(k.record.id), 5);
    const auto v = verify(k.key, {{"tokens", 100}});
    ASSERT_TRUE(v.admitted());
    EXPECT_EQ(outcome(v, "requests")->result.remaining, 9);
    EXPECT_EQ(parts.remaining(k.record.id), 4);
    const auto plain = key(json::array());
    EXPECT_EQ(error_code_of([&] {
                  verify(plain.key, {{"tokens", 1}});
              }),
              ErrorCode::invalid_argument);
}

// Every door that counts a key applies its auto limits (a request to pbd
// with it), and a re-check counts nothing.
TEST_P(NamedLimitsTest, AutoLimitsApplyAtEveryCountedDoor) {
    const auto k = key(json::array({"requests=1/min:auto"}));
    EXPECT_TRUE(parts.pipeline->admit({.door = Door::ws_check, .credential = k.key}).admitted());
    const auto op = parts.pipeline->admit({.door = Door::ws_op, .credential = k.key});
    EXPECT_TRUE(op.admitted());
    const auto second = parts.pipeline->admit({.door = Door::ws_op, .credential = k.key});
    EXPECT_EQ(second.refused_limit, "requests");
    EXPECT_EQ(verify(k.key).reason, "rate_limited");
}

PB_INSTANTIATE_BACKENDS(NamedLimitsTest);

}  // namespace
}  // namespace pb::admission::test
