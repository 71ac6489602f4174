#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/limits/ban.hpp"
#include "common/store/store.hpp"

// How bans are stored: shared by BanService's writes (ban_service.cpp) and its
// in-memory index (ban_index.cpp). Not part of the limits API.
namespace pb::limits::detail {

// The columns of the bans table, in the order ban_from_row() reads them.
inline constexpr std::string_view k_ban_columns =
    "id, kind, value, reason, origin, created_by, created_at, expires_at, strikes";

// "SELECT k_ban_columns FROM bans WHERE <where>".
std::string select_bans(std::string_view where);

// A ban from one row of SELECT k_ban_columns.
Ban ban_from_row(const store::Row& r);

// The stored ban on `target`, expired or not; nullopt when there is none.
std::optional<Ban> load_ban(store::Connection& c, const BanTarget& target);

}  // namespace pb::limits::detail
