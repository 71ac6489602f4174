#pragma once

#include <cstdint>
#include <string>

#include "common/store/store.hpp"

namespace pb::store {

// The condition of a keyset page ordered by (created_at, id): the rows after
// that position, equal times broken by id, so a page boundary among rows of
// one millisecond loses and repeats nothing. Appends its values to `params`
// and names them by number ($n), as every dialect takes them.
inline std::string after_position(Params& params, std::int64_t created_at, Value id) {
    params.emplace_back(created_at);
    const auto at = "$" + std::to_string(params.size());
    params.emplace_back(std::move(id));
    const auto key = "$" + std::to_string(params.size());
    return "(created_at > " + at + " OR (created_at = " + at + " AND id > " + key + "))";
}

}  // namespace pb::store
