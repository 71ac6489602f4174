#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/core/clock.hpp"
#include "common/keys/named_limit.hpp"
#include "common/keys/refill.hpp"
#include "common/store/store.hpp"

namespace pb::keys {

// An identity: what several keys of one customer share. Its named limits
// count in one bucket per limit for all its keys, and its remaining credits
// are spent by any of them (refilled by `refill`).
struct IdentityRecord {
    std::string id;
    nlohmann::json metadata = nlohmann::json::object();
    std::vector<NamedLimit> limits;
    std::optional<std::int64_t> remaining;
    std::optional<Refill> refill;
    std::optional<UnixMillis> last_refill_at;
    UnixMillis created_at = 0;
    std::string created_by;
    UnixMillis updated_at = 0;

    nlohmann::json to_json() const;
    // The JSON Schema of to_json() (named "Identity").
    static nlohmann::json schema();
};

// Its SQL, one text for SQLite and PostgreSQL.
namespace identity_rows {
std::optional<IdentityRecord> load(store::Connection& c, std::string_view id);
// Error(not_found) when absent.
IdentityRecord load_or_throw(store::Connection& c, std::string_view id);
void insert(store::Connection& c, const IdentityRecord& r);
void update(store::Connection& c, const IdentityRecord& r);
// Identities after `after_id` in id order, at most `limit`.
std::vector<IdentityRecord> page(store::Connection& c, const std::optional<std::string>& after_id,
                                 std::int64_t limit);
void remove(store::Connection& c, std::string_view id);
}  // namespace identity_rows

// An identity's id: 1 to 200 printable characters, no '/' (it is a path
// segment) and no control characters. Error(invalid_argument).
void check_identity_id(std::string_view id);

}  // namespace pb::keys
