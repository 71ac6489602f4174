#pragma once

#include <memory>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "common/admission/pipeline.hpp"
#include "common/core/clock.hpp"
#include "common/core/secret_box.hpp"
#include "common/events/follower.hpp"
#include "common/keys/service.hpp"
#include "common/limits/ban_service.hpp"
#include "common/limits/cidr.hpp"
#include "common/limits/policy.hpp"
#include "common/limits/service.hpp"
#include "common/store/migrations.hpp"
#include "common/store/store.hpp"
#include "common/tokens/service.hpp"
#include "tests/support/test_db.hpp"

namespace pb::admission::test {

using pb::test::Backend;

// What the pipelines of the tests are built with: bans.allow, the limits of
// each scope ("off" for none), server.trusted_proxies.
struct PipelineSettings {
    std::string allow = "127.0.0.0/8";
    std::string ip_rate = "off";
    std::string key_rate = "100/s";
    std::string user_rate = "off";
    std::string trusted_proxies = "127.0.0.0/8";
};

// An admission pipeline on a migrated database of `backend`, with real key,
// token, ban and limit services (limits in memory) and a manual clock.
struct PipelineParts {
    explicit PipelineParts(Backend backend, const PipelineSettings& s = {})
        : db(backend), store(store::open_store(db.url(), {.pool_size = 2})) {
        store::migrate(*store, clock);
        follower = std::make_unique<events::Follower>(*store);
        keys = std::make_unique<keys::KeyService>(*store, clock);
        ring = std::make_unique<tokens::KeyRing>(
            *store, clock, *follower, [this]() -> const SecretBox& { return box; }, std::nullopt);
        tokens = std::make_unique<tokens::TokenService>(*store, clock, *follower, *ring,
                                                        tokens::TokenSettings{});
        limits::BanSettings ban_settings;
        ban_settings.allow.push_back(limits::parse_cidr(s.allow));
        bans = std::make_unique<limits::BanService>(*store, clock, ban_settings);
        limits::LimitSettings limit_settings;
        limit_settings.ip = limits::parse_policy(s.ip_rate, 0, "ip");
        limit_settings.key = limits::parse_policy(s.key_rate, 0, "key");
        limit_settings.user = limits::parse_policy(s.user_rate, 0, "user");
        limiter = std::make_unique<limits::LimitService>(clock, *bans, limit_settings);
        pipeline = std::make_unique<Pipeline>(Parts{*keys, *tokens, *bans, *limiter, clock},
                                              s.trusted_proxies);
    }

    // A key of `owner` with `permissions`, `remaining` uses and its own `rate`.
    keys::CreatedKey key(std::vector<std::string> permissions = {"keys:read"},
                         std::optional<std::int64_t> remaining = std::nullopt,
                         std::optional<std::string> rate = std::nullopt,
                         const std::string& owner = "svc") {
        return keys->create(keys::NewKey{.owner = owner,
                                         .permissions = std::move(permissions),
                                         .remaining = remaining,
                                         .rate_limit = std::move(rate)},
                            "test");
    }

    // The key's uses left, as stored.
    std::int64_t remaining(const std::string& id) {
        return store->transaction(
            [&](store::Connection& c) {
                return c.query("SELECT remaining FROM api_keys WHERE id = $1", {id})
                    .front()
                    .get_int(0);
            },
            store::TxMode::read);
    }

    void ban(const std::string& target) {
        bans->add(limits::NewBan{.target = target, .guard = limits::AllowListGuard::force},
                  "local:test");
    }

    pb::test::TestDb db;
    ManualClock clock{1'700'000'000'000};
    SecretBox box{std::string(32, 'k')};
    std::unique_ptr<store::Store> store;
    std::unique_ptr<events::Follower> follower;
    std::unique_ptr<keys::KeyService> keys;
    std::unique_ptr<tokens::KeyRing> ring;
    std::unique_ptr<tokens::TokenService> tokens;
    std::unique_ptr<limits::BanService> bans;
    std::unique_ptr<limits::LimitService> limiter;
    std::unique_ptr<Pipeline> pipeline;
};

}  // namespace pb::admission::test
