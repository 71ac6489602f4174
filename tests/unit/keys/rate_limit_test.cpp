#include <gtest/gtest.h>

#include "tests/unit/keys/key_fixture.hpp"

namespace pb::keys::test {
namespace {

// A key's own rate limit is stored, changed, cleared with "off", and a bad one is refused without
// writing anything.
class RateLimitTest : public KeyServiceTest {};

TEST_P(RateLimitTest, StoredChangedAndCleared) {
    NewKey req;
    req.owner = "svc";
    req.rate_limit = "10/s";
    const auto created = service->create(req, "test");
    EXPECT_EQ(service->get(created.record.id).rate_limit, "10/s");
    KeyPatch patch;
    patch.rate_limit = std::optional<std::string>("600/min,50");
    EXPECT_EQ(service->update(created.record.id, patch).rate_limit, "600/min,50");
    patch.rate_limit = std::optional<std::string>("off");
    EXPECT_FALSE(service->update(created.record.id, patch).rate_limit.has_value());
    const auto rows = key_rows();
    req.rate_limit = "fast";
    EXPECT_EQ(error_code_of([&] { service->create(req, "test"); }), ErrorCode::invalid_argument);
    EXPECT_EQ(key_rows(), rows);
}

PB_INSTANTIATE_BACKENDS(RateLimitTest);

}  // namespace
}  // namespace pb::keys::test
