#pragma once

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "common/core/clock.hpp"
#include "common/core/error.hpp"
#include "common/states/service.hpp"
#include "common/store/migrations.hpp"
#include "common/store/store.hpp"
#include "tests/support/errors.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_db.hpp"

namespace pb::states::test {

using pb::test::error_code_of;

constexpr std::int64_t k_minute = 60'000;

// A StateService on a migrated database of its own, SQLite or PostgreSQL (the
// test's parameter), with a ManualClock.
class StateServiceTest : public ::testing::TestWithParam<pb::test::Backend> {
  protected:
    StateServiceTest() : store(store::open_store(db.url(), store::StoreOptions{.pool_size = 2})) {
        store::migrate(*store, clock);
        service = std::make_unique<StateService>(*store, clock);
    }

    // A session state `id` with `data`, registered by "alice".
    State make(const std::string& id = "user_123_session",
               nlohmann::json data = {{"user_id", "123"}},
               std::optional<std::vector<Transition>> allowed = std::nullopt,
               std::optional<std::int64_t> ttl_ms = std::nullopt) {
        return service->register_state(NewState{.id = id,
                                                .type = StateType::session,
                                                .data = std::move(data),
                                                .allowed = std::move(allowed),
                                                .ttl_ms = ttl_ms},
                                       "alice");
    }

    // One number from the database, e.g. "SELECT COUNT(*) FROM states".
    std::int64_t scalar(const std::string& sql, const store::Params& params = {}) {
        return store->transaction(
            [&](store::Connection& c) { return c.query(sql, params).front().get_int(0); },
            store::TxMode::read);
    }

    std::int64_t event_rows() { return scalar("SELECT COUNT(*) FROM events"); }
    std::int64_t history_rows() { return scalar("SELECT COUNT(*) FROM state_history"); }

    // Everything a failed call must leave alone: the rows of states, history
    // and events, read straight from the database.
    std::string snapshot() {
        return store->transaction(
            [](store::Connection& c) {
                std::string out;
                for (const auto* sql :
                     {"SELECT id || '|' || status || '|' || data || '|' || CAST(version AS TEXT) "
                      "|| '|' || CAST(updated_at AS TEXT) || '|' || COALESCE(CAST(expires_at AS "
                      "TEXT), '-') FROM states ORDER BY id",
                      "SELECT state_id || '|' || CAST(version AS TEXT) || '|' || transition || "
                      "'|' || status || '|' || data FROM state_history ORDER BY id",
                      "SELECT CAST(seq AS TEXT) || '|' || topic || '|' || type || '|' || data "
                      "FROM events ORDER BY seq"}) {
                    for (const auto& r : c.query(sql)) {
                        out += r.get_text(0) + '\n';
                    }
                    out += "--\n";
                }
                return out;
            },
            store::TxMode::read);
    }

    pb::test::TestDb db{GetParam()};
    ManualClock clock;
    std::unique_ptr<store::Store> store;
    std::unique_ptr<StateService> service;
};

}  // namespace pb::states::test
