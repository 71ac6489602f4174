#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/core/clock.hpp"
#include "common/store/store.hpp"

namespace pb::store {

// One numbered schema step. The SQL is shared by every dialect; the few words
// that differ are written as {{serial_pk}} and expanded by dialect_sql().
struct Migration {
    std::int64_t version;
    std::string_view name;
    std::string_view sql;  // statements separated by ';'
};

// Every migration, oldest first.
std::span<const Migration> migrations();

// The statement that makes concurrent migrators wait for each other inside a
// step's transaction (empty when the dialect needs none).
std::string migration_lock_sql(Dialect dialect);

// Expands the dialect words of `sql` for `dialect`.
std::string dialect_sql(std::string_view sql, Dialect dialect);

// Applies every pending migration, each in its own transaction. Returns the
// versions applied (empty when the schema was current). Safe to call on every
// start.
std::vector<std::int64_t> migrate(Store& store, const Clock& clock);

// {"backend","location","schema_version","latest_version","pending":[…],
// "latency_ms", …info()}
nlohmann::json schema_status(Store& store);

}  // namespace pb::store
