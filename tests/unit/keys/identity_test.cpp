// Identities: keys that share named limits and credits; refills of
// `remaining` by period, once per period whoever spends.
#include <gtest/gtest.h>

#include "common/keys/identity_service.hpp"
#include "common/keys/named_limit.hpp"
#include "common/keys/refill.hpp"
#include "tests/unit/keys/key_fixture.hpp"

namespace pb::keys::test {
namespace {

using nlohmann::json;

// 2026-03-10T12:00:00Z and friends, in ms.
constexpr UnixMillis k_mar10_noon = 1'773'144'000'000;
constexpr UnixMillis k_mar10 = 1'773'100'800'000;
constexpr UnixMillis k_feb15 = 1'771'113'600'000;
constexpr UnixMillis k_feb28 = 1'772'236'800'000;

TEST(Refill, ParsesAndPrints) {
    EXPECT_EQ(parse_refill("1000/day", "refill")->text(), "1000/day");
    EXPECT_EQ(parse_refill("5000/month@15", "refill")->text(), "5000/month@15");
    EXPECT_EQ(parse_refill("5/month", "refill")->text(), "5/month");
    EXPECT_EQ(parse_refill("5/month@1", "refill")->text(), "5/month");
    EXPECT_FALSE(parse_refill("off", "refill"));
    for (const auto* bad : {"1000", "0/day", "-1/day", "x/day", "10/week", "10/month@0",
                            "10/month@32", "10/month@", "10/day@3", "1/days", "/day"}) {
        EXPECT_EQ(error_code_of([&] { parse_refill(bad, "refill"); }), ErrorCode::invalid_argument)
            << bad;
    }
}

TEST(Refill, PeriodStartsInUtc) {
    const auto daily = *parse_refill("10/day", "refill");
    EXPECT_EQ(daily.period_start(k_mar10_noon), k_mar10);
    EXPECT_EQ(daily.period_start(k_mar10), k_mar10);
    EXPECT_EQ(daily.period_start(k_mar10 - 1), k_mar10 - k_day);
    const auto mid = *parse_refill("10/month@15", "refill");
    EXPECT_EQ(mid.period_start(k_mar10_noon), k_feb15);  // before the 15th: last month's
    EXPECT_EQ(mid.period_start(k_feb15), k_feb15);
    EXPECT_EQ(mid.period_start(k_feb15 + 5 * k_day), k_feb15);
    // The 31st of February is its last day.
    const auto last = *parse_refill("10/month@31", "refill");
    EXPECT_EQ(last.period_start(k_mar10_noon), k_feb28);
    EXPECT_TRUE(daily.due(std::nullopt, k_mar10));
    EXPECT_TRUE(daily.due(k_mar10 - 1, k_mar10));
    EXPECT_FALSE(daily.due(k_mar10, k_mar10_noon));
}

TEST(NamedLimits, WordsAndObjectsAreOneForm) {
    const auto limits = parse_named_limits(
        json::array({"tokens=10000/day,500:shadow",
                     json{{"name", "requests"}, {"rate", "100/min"}, {"auto", true}}}),
        "limits");
    ASSERT_EQ(limits.size(), 2u);
    EXPECT_EQ(limits[0].name, "requests");  // sorted by name
    EXPECT_TRUE(limits[0].auto_);
    EXPECT_EQ(limits[0].policy.burst, 100);
    EXPECT_EQ(limits[1].name, "tokens");
    EXPECT_TRUE(limits[1].shadow);
    EXPECT_EQ(limits[1].policy.burst, 500);
    EXPECT_EQ(
        limits_json(limits)[1],
        (json{{"name", "tokens"}, {"rate", "10000/day,500"}, {"auto", false}, {"shadow", true}}));
}

TEST(NamedLimits, BadLimitsAreInvalidArguments) {
    for (const auto& bad :
         {json("requests"), json::array({"requests"}), json::array({"=10/s"}),
          json::array({"Requests=10/s"}), json::array({"r=fast"}), json::array({"ip=10/s"}),
          json::array({"key=10/s:auto"}), json::array({json{{"name", "user"}, {"rate", "1/s"}}}),
          json::array({"r=off"}), json::array({"r=10/s:loud"}), json::array({"r=10/s", "r=5/s"}),
          json::array({json{{"name", "r"}}}),
          json::array({json{{"name", "r"}, {"rate", "1/s"}, {"x", 1}}}),
          json::array({json{{"name", "r"}, {"rate", "1/s"}, {"auto", "yes"}}})}) {
        EXPECT_EQ(error_code_of([&] { parse_named_limits(bad, "limits"); }),
                  ErrorCode::invalid_argument)
            << bad.dump();
    }
    json many = json::array();
    for (int i = 0; i < 17; ++i) {
        many.push_back("l" + std::to_string(i) + "=1/s");
    }
    EXPECT_EQ(error_code_of([&] { parse_named_limits(many, "limits"); }),
              ErrorCode::invalid_argument);
}

TEST(NamedLimits, CostsAreBounded) {
    EXPECT_EQ(parse_limit_costs(json::array({json{{"name", "tokens"}, {"cost", 250}}}))[0].cost,
              250);
    EXPECT_EQ(parse_limit_costs(json::array({json{{"name", "tokens"}}}))[0].cost, 1);
    for (const auto& bad : {json::array({json{{"name", "t"}, {"cost", 0}}}),
                            json::array({json{{"name", "t"}, {"cost", -5}}}),
                            json::array({json{{"name", "t"}, {"cost", k_max_limit_cost + 1}}}),
                            json::array({json{{"name", "t"}, {"cost", 1.5}}}),
                            json::array({json{{"name", "t"}}, json{{"name", "t"}}}),
                            json::array({json{{"cost", 1}}}), json(5)}) {
        EXPECT_EQ(error_code_of([&] { parse_limit_costs(bad); }), ErrorCode::invalid_argument)
            << bad.dump();
    }
}

class IdentityTest : public KeyServiceTest {
  protected:
    IdentityRecord identity(const std::string& id, std::optional<std::int64_t> remaining,
                            std::optional<std::string> refill = std::nullopt) {
        return service->identities().create(
            NewIdentity{.id = id, .remaining = remaining, .refill = std::move(refill)}, "test");
    }
    CreatedKey key_of(const std::string& identity_id,
                      std::optional<std::int64_t> remaining = std::nullopt) {
        return service->create(
            NewKey{.owner = identity_id, .remaining = remaining, .identity_id = identity_id},
            "test");
    }
    std::int64_t identity_remaining(const std::string& id) {
        return scalar("SELECT remaining FROM identities WHERE id = $1", {id});
    }
};

// Two keys of one identity spend its one pool of credits: once it is empty,
// both are exhausted, and the answer names the identity.
TEST_P(IdentityTest, KeysShareTheIdentitysCredits) {
    identity("acme", 3);
    const auto a = key_of("acme");
    const auto b = key_of("acme");
    auto first = service->verify(a.key);
    ASSERT_TRUE(first.valid);
    ASSERT_NE(first.identity, nullptr);
    EXPECT_EQ(first.identity->id, "acme");
    EXPECT_EQ(first.identity_remaining, 2);
    EXPECT_EQ(first.identity_json()["id"], "acme");
    EXPECT_TRUE(service->verify(b.key).valid);
    EXPECT_TRUE(service->verify(a.key).valid);
    EXPECT_EQ(identity_remaining("acme"), 0);
    EXPECT_EQ(service->verify(b.key).reason, "exhausted");
    EXPECT_EQ(service->verify(a.key).reason, "exhausted");
}

// A key's own credits and its identity's are spent together or not at all.
TEST_P(IdentityTest, AUseSpendsBothCountsOrNeither) {
    identity("acme", 1);
    const auto a = key_of("acme", 5);
    const auto b = key_of("acme", 5);
    EXPECT_TRUE(service->verify(a.key).valid);
    EXPECT_EQ(service->verify(b.key).reason, "exhausted");
    EXPECT_EQ(scalar("SELECT remaining FROM api_keys WHERE id = $1", {b.record.id}), 5);
    EXPECT_EQ(scalar("SELECT remaining FROM api_keys WHERE id = $1", {a.record.id}), 4);
}

// remaining refills to N at the first use of each UTC day, once, with no job
// running; two services on one database (two daemons) refill it once.
TEST_P(IdentityTest, RefillsOncePerPeriodAcrossProcesses) {
    clock.set(k_mar10_noon);
    identity("acme", 2, "3/day");
    const auto k = key_of("acme");
    EXPECT_TRUE(service->verify(k.key).valid);
    EXPECT_TRUE(service->verify(k.key).valid);
    EXPECT_EQ(service->verify(k.key).reason, "exhausted");
    clock.set(k_mar10 + k_day + 5);  // the next UTC day
    auto other_store = store::open_store(db_path(), store::StoreOptions{.pool_size = 2});
    KeyService other(*other_store, clock);
    const auto here = service->verify(k.key);
    ASSERT_TRUE(here.valid);
    EXPECT_EQ(here.identity_remaining, 2);  // refilled to 3, one spent
    const auto there = other.verify(k.key);
    ASSERT_TRUE(there.valid);
    EXPECT_EQ(there.identity_remaining, 1);  // not refilled a second time
    EXPECT_EQ(identity_remaining("acme"), 1);
    EXPECT_EQ(scalar("SELECT last_refill_at FROM identities WHERE id = 'acme'"),
              k_mar10 + k_day + 5);
}

// A key's own refill: monthly on a day; the first refill is the next period's.
TEST_P(IdentityTest, KeyRefillsMonthlyOnItsDay) {
    clock.set(k_feb15 + k_day);
    const auto k =
        service->create(NewKey{.owner = "svc", .refill = std::string("2/month@15")}, "test");
    EXPECT_EQ(k.record.remaining, 2);
    EXPECT_TRUE(service->verify(k.key).valid);
    EXPECT_TRUE(service->verify(k.key).valid);
    EXPECT_EQ(service->verify(k.key).reason, "exhausted");
    clock.set(k_mar10_noon);  // before March 15: still February's period
    EXPECT_EQ(service->verify(k.key).reason, "exhausted");
    clock.set(k_mar10 + 5 * k_day);  // March 15
    const auto refilled = service->verify(k.key);
    ASSERT_TRUE(refilled.valid);
    EXPECT_EQ(refilled.remaining, 1);
}

// Bad input names the param and writes nothing; an unknown identity is not_found.
TEST_P(IdentityTest, BadInputChangesNothing) {
    const auto before = event_rows();
    auto& ids = service->identities();
    EXPECT_EQ(error_code_of([&] { ids.create(NewIdentity{.id = ""}, "t"); }),
              ErrorCode::invalid_argument);
    EXPECT_EQ(error_code_of([&] { ids.create(NewIdentity{.id = "a/b"}, "t"); }),
              ErrorCode::invalid_argument);
    EXPECT_EQ(error_code_of([&] {
                  ids.create(NewIdentity{.id = "x", .refill = std::string("10/fortnight")}, "t");
              }),
              ErrorCode::invalid_argument);
    EXPECT_EQ(error_code_of([&] {
                  ids.create(NewIdentity{.id = "x", .limits = json::array({"r=fast"})}, "t");
              }),
              ErrorCode::invalid_argument);
    EXPECT_EQ(error_code_of([&] { ids.create(NewIdentity{.id = "x", .remaining = -1}, "t"); }),
              ErrorCode::invalid_argument);
    EXPECT_EQ(error_code_of([&] {
                  service->create(NewKey{.owner = "o", .identity_id = std::string("nobody")}, "t");
              }),
              ErrorCode::not_found);
    EXPECT_EQ(error_code_of([&] {
                  service->create(NewKey{.owner = "o", .limits = json::array({"t=1/s:x"})}, "t");
              }),
              ErrorCode::invalid_argument);
    EXPECT_EQ(event_rows(), before);
    EXPECT_EQ(key_rows(), 0);
    identity("acme", std::nullopt);
    EXPECT_EQ(error_code_of([&] { identity("acme", 5); }), ErrorCode::conflict);
    EXPECT_EQ(error_code_of(
                  [&] { ids.update("acme", IdentityPatch{.refill = std::string("5/month@40")}); }),
              ErrorCode::invalid_argument);
    EXPECT_FALSE(ids.get("acme").refill);
}

// Deleting an identity that has keys is a conflict; with force its keys are
// revoked in the same transaction and verify refuses them at once.
TEST_P(IdentityTest, DeleteRefusesWhileKeysBelongUnlessForced) {
    identity("acme", 10);
    const auto k = key_of("acme");
    EXPECT_TRUE(service->verify(k.key).valid);
    EXPECT_EQ(error_code_of([&] { service->identities().remove("acme", false); }),
              ErrorCode::conflict);
    EXPECT_TRUE(service->verify(k.key).valid);
    const auto removed = service->identities().remove("acme", true);
    EXPECT_EQ(removed.revoked_keys, std::vector<std::string>{k.record.id});
    EXPECT_EQ(service->verify(k.key).reason, "revoked");
    EXPECT_EQ(error_code_of([&] { service->identities().get("acme"); }), ErrorCode::not_found);
    EXPECT_EQ(error_code_of([&] { service->identities().remove("acme", true); }),
              ErrorCode::not_found);
}

// A change to an identity reaches a verify at once (the in-memory index is
// invalidated), in this process and in another.
TEST_P(IdentityTest, ChangesReachVerifyAtOnce) {
    identity("acme", 0);
    const auto k = key_of("acme");
    auto other_store = store::open_store(db_path(), store::StoreOptions{.pool_size = 2});
    KeyService other(*other_store, clock);
    EXPECT_EQ(service->verify(k.key).reason, "exhausted");
    EXPECT_EQ(other.verify(k.key).reason, "exhausted");
    service->identities().update("acme",
                                 IdentityPatch{.remaining = std::optional<std::int64_t>(5)});
    EXPECT_TRUE(service->verify(k.key).valid);
    EXPECT_TRUE(seen([&] { return other.verify(k.key).valid; }));
}

PB_INSTANTIATE_BACKENDS(IdentityTest);

}  // namespace
}  // namespace pb::keys::test
