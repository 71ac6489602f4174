#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "common/core/clock.hpp"
#include "common/core/error.hpp"
#include "common/keys/service.hpp"
#include "common/store/migrations.hpp"
#include "common/store/store.hpp"
#include "tests/support/errors.hpp"
#include "tests/support/test_db.hpp"

namespace pb::keys::test {

using pb::test::error_code_of;

constexpr std::int64_t k_hour = 3'600'000;
constexpr std::int64_t k_day = 24 * k_hour;

using pb::test::Backend;

// A KeyService on a migrated database of the test's backend (a SQLite file in a
// temp dir, or a fresh PostgreSQL schema), with a ManualClock.
class KeyServiceTest : public ::testing::TestWithParam<Backend> {
  protected:
    KeyServiceTest()
        : db(GetParam()), store(store::open_store(db_path(), store::StoreOptions{.pool_size = 2})) {
        store::migrate(*store, clock);
        service = std::make_unique<KeyService>(*store, clock);
    }

    // The database's URL (the file's path on SQLite), for a second "process".
    std::string db_path() const { return db.url(); }

    // A key for `owner` with the given settings.
    CreatedKey create(const std::string& owner = "ci-bot",
                      std::vector<std::string> perms = {"deploy:write"},
                      std::optional<UnixMillis> expires_at = std::nullopt,
                      std::optional<std::int64_t> remaining = std::nullopt) {
        return service->create(NewKey{.owner = owner,
                                      .name = "deploy",
                                      .permissions = std::move(perms),
                                      .expires_at = expires_at,
                                      .remaining = remaining},
                               "test");
    }

    // One number from the database, e.g. "SELECT COUNT(*) FROM api_keys".
    std::int64_t scalar(const std::string& sql, const store::Params& params = {}) {
        return store->transaction(
            [&](store::Connection& c) { return c.query(sql, params).front().get_int(0); },
            store::TxMode::read);
    }

    // True once `check` holds: seen_across_stores on this test's backend.
    template <class F>
    bool seen(F&& check) {
        return pb::test::seen_across_stores(GetParam(), std::forward<F>(check));
    }

    std::int64_t key_rows() { return scalar("SELECT COUNT(*) FROM api_keys"); }
    std::int64_t event_rows() { return scalar("SELECT COUNT(*) FROM events"); }

    pb::test::TestDb db;
    ManualClock clock;
    std::unique_ptr<store::Store> store;
    std::unique_ptr<KeyService> service;
};

}  // namespace pb::keys::test
