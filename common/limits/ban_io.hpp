#pragma once

#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/core/clock.hpp"
#include "common/limits/ban_service.hpp"

namespace pb::limits {

enum class BanFileFormat { automatic, csv, json };

// The most rows one import takes.
inline constexpr std::size_t k_max_import_rows = 100'000;

// Reads the rows of an import file, validating every row before anything is
// written:
//   JSON  {"bans":[{"target":…, "reason":…, "expires_at":…, "for":…, "origin":…}, …]}
//         (what `bans export` prints) or the bare array; other fields are ignored.
//   CSV   an optional header (a first line with a "target" cell) naming the
//         columns (target, expires_at, for, reason, origin); without one the
//         columns are target,expires_at,reason.
//         RFC 4180 quoting; blank lines and lines starting with # are skipped.
// expires_at is an RFC 3339 time, Unix ms (JSON), a duration from now ("4h"),
// or empty/null/"never" for a permanent ban. `automatic` picks JSON when the
// text starts with { or [. Throws Error(invalid_argument) naming the row (1 =
// the first data row), e.g. "row 3: target \"300.1.1.1\": …"; a target listed
// twice is an error.
std::vector<ImportRow> parse_ban_rows(std::string_view content, BanFileFormat format,
                                      UnixMillis now);

// The JSON form of parse_ban_rows, from an already parsed document.
std::vector<ImportRow> parse_ban_json(const nlohmann::json& document, UnixMillis now);
// The JSON Schema of the document parse_ban_json() reads ("BanDocument").
nlohmann::json ban_document_schema();

}  // namespace pb::limits
