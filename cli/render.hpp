#pragma once

#include <iosfwd>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/style.hpp"
#include "common/ops/op.hpp"

namespace pb::cli {

enum class OutputFormat { table, json, quiet, csv };

// Prints an op's result the way the user asked: a readable table (lists) or
// aligned fields (one object), indented JSON, just the op's quiet field (one
// per row of a list), or a list's rows as CSV (RFC 4180, a header of the
// table's columns, null as an empty cell; lists only: see csv_possible).
// `style` marks table headers and field names (on a terminal only).
void render(std::ostream& out, const ops::Op& op, const nlohmann::json& result, OutputFormat format,
            const Style& style = {});

// True when `op` answers rows that -o csv can print.
bool csv_possible(const ops::Op& op);

// A cell as text: null as "-", lists joined with ",", objects as compact JSON.
std::string cell_text(const nlohmann::json& v);

}  // namespace pb::cli
