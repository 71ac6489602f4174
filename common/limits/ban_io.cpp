#include "common/limits/ban_io.hpp"

#include <algorithm>
#include <cctype>
#include <map>

#include "common/core/csv.hpp"
#include "common/core/error.hpp"
#include "common/core/json_parse.hpp"
#include "common/core/time_format.hpp"
#include "common/ops/schema.hpp"

namespace pb::limits {
namespace {

using nlohmann::json;

// What a row says before it is checked.
struct RawRow {
    std::size_t number = 0;
    std::string target;
    std::optional<json> expires;  // string, integer or null
    std::optional<std::string> duration;
    std::string reason;
    std::string origin;
};

[[noreturn]] void row_error(std::size_t row, const std::string& why) {
    throw Error(ErrorCode::invalid_argument, "row " + std::to_string(row) + ": " + why,
                {{"row", row}});
}

std::string trim(std::string_view s) {
    const auto b = s.find_first_not_of(" \t\r");
    if (b == std::string_view::npos) {
        return "";
    }
    return std::string(s.substr(b, s.find_last_not_of(" \t\r") - b + 1));
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

// The CSV records, an unclosed quote named by its row (as every row error is).
std::vector<CsvRecord> ban_records(std::string_view text) {
    try {
        return csv_records(text);
    } catch (const Error& e) {
        row_error(e.details().value("record", std::size_t{1}), e.what());
    }
}

std::vector<RawRow> csv_rows(std::string_view text) {
    auto records = ban_records(text);
    std::vector<std::string> columns{"target", "expires_at", "reason"};
    std::size_t first = 0;
    const bool header =
        !records.empty() && std::any_of(records.front().cells.begin(), records.front().cells.end(),
                                        [](const std::string& c) { return lower(c) == "target"; });
    if (header) {
        columns.clear();
        for (const auto& c : records.front().cells) {
            columns.push_back(lower(c));
        }
        first = 1;
    }
    std::vector<RawRow> rows;
    for (std::size_t i = first; i < records.size(); ++i) {
        const auto& cells = records[i].cells;
        RawRow r;
        r.number = rows.size() + 1;
        if (cells.size() > columns.size()) {
            row_error(r.number, "more cells than columns (" + std::to_string(columns.size()) +
                                    "); quote a reason that holds a comma");
        }
        for (std::size_t c = 0; c < cells.size(); ++c) {
            const auto& name = columns[c];
            if (name == "target") {
                r.target = cells[c];
            } else if (name == "expires_at" || name == "expires") {
                r.expires = cells[c];
            } else if (name == "for") {
                if (!cells[c].empty()) {
                    r.duration = cells[c];
                }
            } else if (name == "reason") {
                r.reason = cells[c];
            } else if (name == "origin") {
                r.origin = cells[c];
            }
        }
        rows.push_back(std::move(r));
    }
    return rows;
}

std::vector<RawRow> json_rows(const json& doc) {
    const json* list = &doc;
    if (doc.is_object() && doc.contains("bans")) {
        list = &doc["bans"];
    }
    if (!list->is_array()) {
        throw Error(ErrorCode::invalid_argument,
                    "expected {\"bans\":[…]} (as bans export prints) or a JSON array of bans");
    }
    std::vector<RawRow> rows;
    for (const auto& item : *list) {
        RawRow r;
        r.number = rows.size() + 1;
        if (!item.is_object() || !item.contains("target") || !item["target"].is_string()) {
            row_error(r.number, "expected an object with a \"target\" text");
        }
        r.target = item["target"].get<std::string>();
        if (item.contains("expires_at")) {
            r.expires = item["expires_at"];
        }
        for (const auto& [field, dest] :
             {std::pair<const char*, std::string*>{"reason", &r.reason}, {"origin", &r.origin}}) {
            if (item.contains(field) && !item[field].is_null()) {
                if (!item[field].is_string()) {
                    row_error(r.number, std::string(field) + ": expected text");
                }
                *dest = item[field].get<std::string>();
            }
        }
        if (item.contains("for") && !item["for"].is_null()) {
            if (!item["for"].is_string()) {
                row_error(r.number, "for: expected a duration like 4h");
            }
            r.duration = item["for"].get<std::string>();
        }
        rows.push_back(std::move(r));
    }
    return rows;
}

std::vector<ImportRow> check_rows(const std::vector<RawRow>& raw, UnixMillis now) {
    if (raw.size() > k_max_import_rows) {
        throw Error(ErrorCode::invalid_argument,
                    "at most " + std::to_string(k_max_import_rows) + " bans per import");
    }
    std::vector<ImportRow> out;
    std::map<std::string, std::size_t> seen;
    for (const auto& r : raw) {
        ImportRow row;
        try {
            row.target = parse_target(r.target);
        } catch (const Error& e) {
            row_error(r.number, e.what());
        }
        if (auto [it, fresh] = seen.emplace(row.target.text(), r.number); !fresh) {
            row_error(r.number,
                      row.target.text() + " is also on row " + std::to_string(it->second));
        }
        if (r.duration && r.expires &&
            !(r.expires->is_string() && r.expires->get<std::string>().empty()) &&
            !r.expires->is_null()) {
            row_error(r.number, "give expires_at or for, not both");
        }
        if (r.duration) {
            const auto d = parse_duration(*r.duration);
            const auto until = d ? instant_after(now, *d) : std::nullopt;
            if (!d || *d <= 0 || !until) {
                row_error(r.number, "for: expected a duration like 4h, at most " +
                                        std::string(k_max_duration_text) + ", got \"" +
                                        r.duration->substr(0, 40) + "\"");
            }
            row.expires_at = *until;
        } else if (r.expires && r.expires->is_number_integer()) {
            // Positive numbers parse as unsigned; one beyond int64 must not wrap.
            const bool huge =
                r.expires->is_number_unsigned() &&
                r.expires->get<std::uint64_t>() > static_cast<std::uint64_t>(k_max_instant_ms);
            row.expires_at = r.expires->get<std::int64_t>();
            if (huge || !instant_in_range(*row.expires_at)) {
                row_error(r.number, "expires_at: expected a time no later than " +
                                        std::string(k_max_instant_text));
            }
        } else if (r.expires && r.expires->is_string()) {
            const auto text = trim(r.expires->get<std::string>());
            if (!text.empty() && text != "never") {
                const auto t = parse_time_or_duration(text, now);
                if (!t) {
                    row_error(r.number,
                              "expires_at: expected an RFC 3339 time, a duration like 4h, or "
                              "nothing for a permanent ban, got \"" +
                                  text.substr(0, 40) + "\"");
                }
                row.expires_at = *t;
            }
        } else if (r.expires && !r.expires->is_null()) {
            row_error(r.number, "expires_at: expected a time, a duration or null");
        }
        if (r.reason.size() > 500 ||
            std::any_of(r.reason.begin(), r.reason.end(),
                        [](unsigned char c) { return c < 0x20 || c == 0x7F; })) {
            row_error(r.number, "reason: at most 500 characters, no control characters");
        }
        row.reason = r.reason;
        if (r.origin == "auto") {
            row.origin = BanOrigin::auto_ban;
        } else if (!r.origin.empty() && r.origin != "manual") {
            row_error(r.number,
                      "origin: expected manual or auto, got \"" + r.origin.substr(0, 40) + "\"");
        }
        out.push_back(std::move(row));
    }
    return out;
}

}  // namespace

json ban_document_schema() {
    using namespace ops::schema;
    return named(
        "BanDocument",
        object(
            {{"bans", array(object({{"target", string()},
                                    {"expires_at", optional(nullable(time("null: until removed")))},
                                    {"for", optional(nullable(string("A duration like 4h")))},
                                    {"reason", optional(string())},
                                    {"origin", optional(string())}}))}},
            "As bans export answers it"));
}

std::vector<ImportRow> parse_ban_json(const json& document, UnixMillis now) {
    return check_rows(json_rows(document), now);
}

std::vector<ImportRow> parse_ban_rows(std::string_view content, BanFileFormat format,
                                      UnixMillis now) {
    if (format == BanFileFormat::automatic) {
        const auto first = content.find_first_not_of(" \t\r\n");
        const bool json_like =
            first != std::string_view::npos && (content[first] == '{' || content[first] == '[');
        format = json_like ? BanFileFormat::json : BanFileFormat::csv;
    }
    if (format == BanFileFormat::json) {
        return parse_ban_json(parse_json(content, "ban file"), now);
    }
    return check_rows(csv_rows(content), now);
}

}  // namespace pb::limits
