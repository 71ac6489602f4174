#pragma once

#include <iosfwd>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/style.hpp"
#include "common/ops/op.hpp"

namespace pb::cli {

enum class OutputFormat { table, json, quiet };

// Prints an op's result the way the user asked: a readable table (lists) or
// aligned fields (one object), indented JSON, or just the op's quiet field.
// `style` marks table headers and field names (on a terminal only).
void render(std::ostream& out, const ops::Op& op, const nlohmann::json& result, OutputFormat format,
            const Style& style = {});

// A cell as text: null as "-", lists joined with ",", objects as compact JSON.
std::string cell_text(const nlohmann::json& v);

}  // namespace pb::cli
