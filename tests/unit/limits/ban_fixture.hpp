#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "common/core/clock.hpp"
#include "common/core/error.hpp"
#include "common/limits/ban_service.hpp"
#include "common/store/migrations.hpp"
#include "common/store/store.hpp"
#include "tests/support/errors.hpp"
#include "tests/support/test_db.hpp"

namespace pb::limits::test {

using pb::test::error_code_of;

constexpr std::int64_t k_minute = 60'000;
constexpr std::int64_t k_hour = 60 * k_minute;

// Settings the tests reason about: allow 127.0.0.0/8 and 2001:db8:ffff::/48;
// automatic bans of 5m, doubling, at most 1h; expired bans kept a day.
inline BanSettings test_settings() {
    BanSettings s;
    s.allow = {parse_cidr("127.0.0.0/8"), parse_cidr("2001:db8:ffff::/48")};
    s.auto_duration_ms = 5 * k_minute;
    s.auto_factor = 2;
    s.auto_max_ms = k_hour;
    s.retention_ms = 24 * k_hour;
    return s;
}

using pb::test::Backend;

// A BanService on a migrated database of the test's backend (a SQLite file in a
// temp dir, or a fresh PostgreSQL schema), with a ManualClock.
class BanServiceTest : public ::testing::TestWithParam<Backend> {
  protected:
    BanServiceTest() : db(GetParam()), store(open()) {
        store::migrate(*store, clock);
        bans = std::make_unique<BanService>(*store, clock, test_settings());
    }

    std::unique_ptr<store::Store> open() {
        return store::open_store(db.url(), store::StoreOptions{.pool_size = 2});
    }

    Ban add(const std::string& target, std::optional<std::int64_t> duration = std::nullopt,
            const std::string& reason = "") {
        return bans->add(NewBan{.target = target, .duration_ms = duration, .reason = reason},
                         "local:test");
    }

    bool banned(const std::string& target) { return bans->check(target) != nullptr; }

    // True once `check` holds: seen_across_stores on this test's backend.
    template <class F>
    bool seen(F&& check) {
        return pb::test::seen_across_stores(GetParam(), std::forward<F>(check));
    }

    std::int64_t scalar(const std::string& sql) {
        return store->transaction(
            [&](store::Connection& c) { return c.query(sql).front().get_int(0); },
            store::TxMode::read);
    }

    pb::test::TestDb db;
    ManualClock clock;
    std::unique_ptr<store::Store> store;
    std::unique_ptr<BanService> bans;
};

}  // namespace pb::limits::test
