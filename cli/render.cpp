#include "cli/render.hpp"

#include <algorithm>
#include <ostream>

namespace pb::cli {
namespace {

using nlohmann::json;

void render_table(std::ostream& out, const std::vector<std::string>& columns, const json& rows,
                  const Style& style) {
    std::vector<std::vector<std::string>> cells;
    std::vector<std::size_t> widths;
    for (const auto& c : columns) {
        std::string head;
        for (char ch : c) {
            head.push_back(
                ch == '_' ? ' ' : static_cast<char>(std::toupper(static_cast<unsigned char>(ch))));
        }
        widths.push_back(head.size());
        if (cells.empty()) {
            cells.emplace_back();
        }
        cells.front().push_back(head);
    }
    for (const auto& row : rows) {
        std::vector<std::string> line;
        for (std::size_t i = 0; i < columns.size(); ++i) {
            line.push_back(cell_text(row.contains(columns[i]) ? row[columns[i]] : json(nullptr)));
            widths[i] = std::max(widths[i], line.back().size());
        }
        cells.push_back(std::move(line));
    }
    for (std::size_t n = 0; n < cells.size(); ++n) {
        const auto& line = cells[n];
        for (std::size_t i = 0; i < line.size(); ++i) {
            out << (n == 0 ? style.bold(line[i]) : line[i]);
            if (i + 1 < line.size()) {
                out << std::string(widths[i] - line[i].size() + 2, ' ');
            }
        }
        out << '\n';
    }
}

// One CSV cell (RFC 4180): quoted when it holds a comma, a quote or a line end.
std::string csv_cell(const json& v) {
    const std::string text = v.is_null() ? std::string() : cell_text(v);
    if (text.find_first_of(",\"\r\n") == std::string::npos) {
        return text;
    }
    std::string out = "\"";
    for (char c : text) {
        out += c == '"' ? std::string("\"\"") : std::string(1, c);
    }
    return out + '"';
}

void render_csv(std::ostream& out, const std::vector<std::string>& columns, const json& rows) {
    for (std::size_t i = 0; i < columns.size(); ++i) {
        out << (i == 0 ? "" : ",") << csv_cell(columns[i]);
    }
    out << "\r\n";
    for (const auto& row : rows) {
        for (std::size_t i = 0; i < columns.size(); ++i) {
            out << (i == 0 ? "" : ",")
                << csv_cell(row.contains(columns[i]) ? row[columns[i]] : json(nullptr));
        }
        out << "\r\n";
    }
}

void render_fields(std::ostream& out, const json& obj, const Style& style) {
    std::size_t width = 0;
    for (const auto& [k, v] : obj.items()) {
        width = std::max(width, k.size());
    }
    for (const auto& [k, v] : obj.items()) {
        out << style.bold(k + ':') << std::string(width - k.size() + 2, ' ') << cell_text(v)
            << '\n';
    }
}

}  // namespace

bool csv_possible(const ops::Op& op) {
    return !op.list_field.empty();
}

std::string cell_text(const json& v) {
    if (v.is_null()) {
        return "-";
    }
    if (v.is_string()) {
        return v.get<std::string>();
    }
    if (v.is_array() &&
        std::all_of(v.begin(), v.end(), [](const json& x) { return x.is_string(); })) {
        std::string s;
        for (const auto& x : v) {
            s += (s.empty() ? "" : ",") + x.get<std::string>();
        }
        return s.empty() ? "-" : s;
    }
    return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

void render(std::ostream& out, const ops::Op& op, const json& result, OutputFormat format,
            const Style& style) {
    switch (format) {
        case OutputFormat::json:
            out << result.dump(2, ' ', false, json::error_handler_t::replace) << '\n';
            return;
        case OutputFormat::quiet:
            // A list's quiet_field names a field of its rows: one per line.
            if (!op.quiet_field.empty() && !op.list_field.empty() &&
                result.contains(op.list_field) && result[op.list_field].is_array()) {
                for (const auto& row : result[op.list_field]) {
                    if (row.is_object() && row.contains(op.quiet_field)) {
                        out << cell_text(row[op.quiet_field]) << '\n';
                    }
                }
                return;
            }
            if (!op.quiet_field.empty() && result.contains(op.quiet_field)) {
                out << cell_text(result[op.quiet_field]) << '\n';
            }
            return;
        case OutputFormat::table:
        case OutputFormat::csv:
            break;
    }
    if (!op.list_field.empty() && result.contains(op.list_field) &&
        result[op.list_field].is_array()) {
        const auto& rows = result[op.list_field];
        std::vector<std::string> columns = op.columns;
        if (columns.empty() && !rows.empty()) {
            for (const auto& [k, v] : rows.front().items()) {
                columns.push_back(k);
            }
        }
        if (format == OutputFormat::csv) {
            render_csv(out, columns, rows);
        } else {
            render_table(out, columns, rows, style);
        }
        return;
    }
    if (result.is_object()) {
        render_fields(out, result, style);
    } else {
        out << cell_text(result) << '\n';
    }
}

}  // namespace pb::cli
