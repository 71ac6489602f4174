#pragma once

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "common/core/clock.hpp"
#include "common/core/error.hpp"
#include "common/limits/ban_service.hpp"
#include "common/store/migrations.hpp"
#include "common/store/store.hpp"
#include "tests/support/errors.hpp"
#include "tests/support/temp_dir.hpp"

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

// A BanService on a migrated SQLite file in a temp dir, with a ManualClock.
class BanServiceTest : public ::testing::Test {
  protected:
    BanServiceTest() : store(open()) {
        store::migrate(*store, clock);
        bans = std::make_unique<BanService>(*store, clock, test_settings());
    }

    std::unique_ptr<store::Store> open() {
        return store::open_store(dir.file("pb.db"), store::StoreOptions{.pool_size = 2});
    }

    Ban add(const std::string& target, std::optional<std::int64_t> duration = std::nullopt,
            const std::string& reason = "") {
        return bans->add(NewBan{.target = target, .duration_ms = duration, .reason = reason},
                         "local:test");
    }

    bool banned(const std::string& target) { return bans->check(target) != nullptr; }

    std::int64_t scalar(const std::string& sql) {
        return store->transaction(
            [&](store::Connection& c) { return c.query(sql).front().get_int(0); },
            store::TxMode::read);
    }

    pb::test::TempDir dir;
    ManualClock clock;
    std::unique_ptr<store::Store> store;
    std::unique_ptr<BanService> bans;
};

}  // namespace pb::limits::test
