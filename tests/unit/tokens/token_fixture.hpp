#pragma once

#include <fstream>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/core/clock.hpp"
#include "common/core/secret_box.hpp"
#include "common/events/follower.hpp"
#include "common/store/migrations.hpp"
#include "common/store/store.hpp"
#include "common/tokens/service.hpp"
#include "tests/support/test_db.hpp"

namespace pb::test {

// A token service on a fresh database of the given backend, with a manual
// clock and a fixed master key.
struct TokenFixture {
    TestDb db;
    ManualClock clock{1'700'000'000'000};
    SecretBox box{std::string(32, 'k')};
    std::unique_ptr<store::Store> store;
    std::unique_ptr<events::Follower> follower;
    std::unique_ptr<tokens::KeyRing> ring;
    std::unique_ptr<tokens::TokenService> tokens;

    explicit TokenFixture(std::optional<tokens::JoseKey> config_hmac = std::nullopt)
        : TokenFixture(Backend::sqlite, std::move(config_hmac)) {}

    explicit TokenFixture(Backend backend,
                          std::optional<tokens::JoseKey> config_hmac = std::nullopt)
        : db(backend) {
        store = store::open_store(db.url(), {.busy_timeout_ms = 5000, .pool_size = 2});
        store::migrate(*store, clock);
        reopen(std::move(config_hmac));
    }

    // Another "process" on the same database file.
    void reopen(std::optional<tokens::JoseKey> config_hmac = std::nullopt) {
        tokens.reset();
        ring.reset();
        follower = std::make_unique<events::Follower>(*store);
        ring = std::make_unique<tokens::KeyRing>(
            *store, clock, *follower, [this]() -> const SecretBox& { return box; },
            std::move(config_hmac));
        tokens = std::make_unique<tokens::TokenService>(*store, clock, *follower, *ring,
                                                        tokens::TokenSettings{});
    }
};

// The suites whose tests build a TokenFixture of the parameter's backend.
class TokenBackendTest : public ::testing::TestWithParam<Backend> {};

inline nlohmann::json read_vector(const std::string& name) {
    std::ifstream in(std::string(PB_SHARED_DIR) + "/vectors/jwt/" + name);
    return nlohmann::json::parse(in);
}

}  // namespace pb::test
