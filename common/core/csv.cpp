#include "common/core/csv.hpp"

#include "common/core/error.hpp"

namespace pb {
namespace {

std::string trim(std::string_view s) {
    const auto b = s.find_first_not_of(" \t\r");
    if (b == std::string_view::npos) {
        return "";
    }
    return std::string(s.substr(b, s.find_last_not_of(" \t\r") - b + 1));
}

}  // namespace

std::vector<CsvRecord> csv_records(std::string_view text) {
    std::vector<CsvRecord> out;
    std::vector<std::string> cells;
    std::string cell;
    bool quoted = false, was_quoted = false, at_line_start = true;
    std::size_t line = 1, record_line = 1;
    auto end_cell = [&] {
        cells.push_back(was_quoted ? cell : trim(cell));
        cell.clear();
        was_quoted = false;
    };
    auto end_record = [&] {
        end_cell();
        const bool blank = cells.size() == 1 && cells.front().empty();
        if (!blank) {
            out.push_back({record_line, std::move(cells)});
        }
        cells.clear();
    };
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (at_line_start && !quoted) {
            record_line = line;
            at_line_start = false;
            if (c == '#') {
                const auto nl = text.find('\n', i);
                i = nl == std::string_view::npos ? text.size() : nl;
                ++line;
                at_line_start = true;
                continue;
            }
        }
        if (quoted) {
            if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
                cell += '"';
                ++i;
            } else if (c == '"') {
                quoted = false;
            } else {
                line += c == '\n' ? 1 : 0;
                cell += c;
            }
        } else if (c == '\r' || (was_quoted && (c == ' ' || c == '\t'))) {
            // CRLF line ends, and spaces after a closing quote, are not content.
        } else if (c == '"' && trim(cell).empty()) {
            cell.clear();
            quoted = was_quoted = true;
        } else if (c == ',') {
            end_cell();
        } else if (c == '\n') {
            end_record();
            ++line;
            at_line_start = true;
        } else {
            cell += c;
        }
    }
    if (quoted) {
        throw Error(ErrorCode::invalid_argument, "a quoted cell is not closed",
                    {{"record", out.size() + 1}, {"line", record_line}});
    }
    if (!at_line_start) {
        end_record();
    }
    return out;
}

}  // namespace pb
