#include "common/keys/import.hpp"

#include <algorithm>
#include <cctype>
#include <limits>
#include <set>

#include "common/core/csv.hpp"
#include "common/core/error.hpp"
#include "common/core/json_parse.hpp"
#include "common/core/rate.hpp"
#include "common/core/time_format.hpp"
#include "common/ops/schema.hpp"

namespace pb::keys {
namespace {

using nlohmann::json;

constexpr std::string_view k_hash_form = "sha256:<64 hex digits>";

[[noreturn]] void bad(std::string_view where, const std::string& why, json details = {}) {
    if (!details.is_object()) {
        details = json::object();
    }
    throw Error(ErrorCode::invalid_argument, where.empty() ? why : std::string(where) + ": " + why,
                std::move(details));
}

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

// A text field of a row, or `fallback` when absent or null.
std::string text_field(const json& row, const char* field, std::string_view where,
                       std::string fallback = {}) {
    if (!row.contains(field) || row[field].is_null()) {
        return fallback;
    }
    if (!row[field].is_string()) {
        bad(where, std::string(field) + ": expected text", {{"param", field}});
    }
    return row[field].get<std::string>();
}

std::optional<UnixMillis> expiry_of(const json& v, std::string_view where, UnixMillis now) {
    const auto refuse = [&] {
        bad(where,
            "expires_at: expected an RFC 3339 time, a duration like 30d, Unix milliseconds, or "
            "nothing for never",
            {{"param", "expires_at"}});
    };
    if (v.is_null()) {
        return std::nullopt;
    }
    if (v.is_number_integer()) {
        if (v.is_number_unsigned() &&
            v.get<std::uint64_t>() > static_cast<std::uint64_t>(k_max_instant_ms)) {
            refuse();
        }
        const auto t = v.get<std::int64_t>();
        if (!instant_in_range(t)) {
            refuse();
        }
        return t;
    }
    if (!v.is_string()) {
        refuse();
    }
    const auto text = v.get<std::string>();
    if (text.empty() || text == "never") {
        return std::nullopt;
    }
    const auto t = parse_time_or_duration(text, now);
    if (!t) {
        refuse();
    }
    return t;
}

const std::set<std::string, std::less<>> k_fields{
    "hash",      "owner",    "name",       "permissions", "expires_at",
    "remaining", "metadata", "rate_limit", "expires",     "identity"};

const std::vector<std::string> k_default_columns{"hash", "owner", "name", "permissions",
                                                 "expires_at"};

// A CSV record as a document row: cells named by `columns`, empty cells left out.
json csv_row(const CsvRecord& record, const std::vector<std::string>& columns,
             std::string_view where) {
    if (record.cells.size() > columns.size()) {
        bad(where, "more cells than columns (" + std::to_string(columns.size()) +
                       "); quote a cell that holds a comma");
    }
    json row = json::object();
    for (std::size_t c = 0; c < record.cells.size(); ++c) {
        const auto& name = columns[c];
        const auto& cell = record.cells[c];
        if (cell.empty()) {
            continue;
        }
        if (name == "permissions") {
            json perms = json::array();
            std::size_t at = 0;
            while ((at = cell.find_first_not_of(" \t", at)) != std::string::npos) {
                const auto end = cell.find_first_of(" \t", at);
                perms.push_back(cell.substr(at, end - at));
                at = end;
            }
            row[name] = perms;
        } else if (name == "remaining") {
            const bool digits =
                cell.size() <= 18 && std::all_of(cell.begin(), cell.end(),
                                                 [](unsigned char ch) { return std::isdigit(ch); });
            if (!digits) {
                bad(where, "remaining: expected a whole number", {{"param", "remaining"}});
            }
            row[name] = std::stoll(cell);
        } else if (name == "metadata") {
            try {
                row[name] = parse_json(cell, "metadata", {k_max_stored_json_depth});
            } catch (const Error&) {
                bad(where, "metadata: expected a JSON object", {{"param", "metadata"}});
            }
        } else {
            row[name] = cell;
        }
    }
    return row;
}

json csv_document(std::string_view text, UnixMillis now) {
    std::vector<CsvRecord> records;
    try {
        records = csv_records(text);
    } catch (const Error& e) {
        bad("line " + std::to_string(e.details().value("line", std::size_t{1})), e.what());
    }
    std::vector<std::string> columns = k_default_columns;
    std::size_t first = 0;
    if (!records.empty() && std::any_of(records.front().cells.begin(), records.front().cells.end(),
                                        [](const std::string& c) { return lower(c) == "hash"; })) {
        columns.clear();
        const auto where = "line " + std::to_string(records.front().line);
        for (const auto& c : records.front().cells) {
            auto name = lower(c);
            if (name == "expires") {
                name = "expires_at";
            }
            if (!k_fields.contains(name)) {
                bad(where, "unknown column \"" + c.substr(0, 40) +
                               "\" (hash, owner, name, permissions, expires_at, remaining, "
                               "metadata, rate_limit)");
            }
            if (std::find(columns.begin(), columns.end(), name) != columns.end()) {
                bad(where, "column \"" + name + "\" named twice");
            }
            columns.push_back(name);
        }
        first = 1;
    }
    if (records.size() - first > k_max_import_keys) {
        bad("", "at most " + std::to_string(k_max_import_keys) + " keys per import");
    }
    json rows = json::array();
    std::set<std::string, std::less<>> hashes;
    for (std::size_t i = first; i < records.size(); ++i) {
        const auto where = "line " + std::to_string(records[i].line);
        auto row = csv_row(records[i], columns, where);
        const auto key = read_import_row(row, where, now);
        if (!hashes.insert(key.hash).second) {
            bad(where, "the same hash as an earlier line", {{"param", "hash"}});
        }
        rows.push_back(std::move(row));
    }
    return {{"keys", rows}};
}

}  // namespace

std::string parse_key_hash(std::string_view text) {
    const auto colon = text.find(':');
    if (colon == std::string_view::npos) {
        bad("", "hash: expected " + std::string(k_hash_form), {{"param", "hash"}});
    }
    const auto algorithm = text.substr(0, colon);
    if (lower(algorithm) != "sha256") {
        const bool plain = !algorithm.empty() && algorithm.size() <= 16 &&
                           std::all_of(algorithm.begin(), algorithm.end(),
                                       [](unsigned char c) { return std::isalnum(c) || c == '-'; });
        bad("",
            "hash: " + (plain ? "\"" + std::string(algorithm) + "\"" : std::string("that")) +
                " is not a supported algorithm: expected " + std::string(k_hash_form),
            {{"param", "hash"}});
    }
    const auto hex = text.substr(colon + 1);
    if (hex.size() != 64) {
        bad("",
            "hash: a SHA-256 is 64 hex digits, not " + std::to_string(hex.size()) + " (expected " +
                std::string(k_hash_form) + ")",
            {{"param", "hash"}});
    }
    for (std::size_t i = 0; i < hex.size(); ++i) {
        if (!std::isxdigit(static_cast<unsigned char>(hex[i]))) {
            bad("", "hash: character " + std::to_string(i + 1) + " of the digits is not hex",
                {{"param", "hash"}});
        }
    }
    return lower(hex);
}

ImportedKey read_import_row(const json& row, std::string_view where, UnixMillis now) {
    if (!row.is_object()) {
        bad(where, "expected an object with \"hash\" and \"owner\"");
    }
    for (const auto& [field, value] : row.items()) {
        if (!k_fields.contains(field) || field == "expires") {
            bad(where, "unknown field \"" + field.substr(0, 40) + "\"");
        }
    }
    ImportedKey out;
    if (!row.contains("hash")) {
        bad(where, "hash: required (" + std::string(k_hash_form) + ")", {{"param", "hash"}});
    }
    try {
        out.hash = parse_key_hash(text_field(row, "hash", where));
    } catch (const Error& e) {
        bad(where, e.what(), e.details());
    }
    auto& k = out.key;
    k.owner = text_field(row, "owner", where);
    k.name = text_field(row, "name", where);
    if (row.contains("permissions") && !row["permissions"].is_null()) {
        const auto& p = row["permissions"];
        if (!p.is_array() ||
            !std::all_of(p.begin(), p.end(), [](const json& v) { return v.is_string(); })) {
            bad(where, "permissions: expected a list of texts", {{"param", "permissions"}});
        }
        k.permissions = p.get<std::vector<std::string>>();
    }
    if (row.contains("expires_at")) {
        k.expires_at = expiry_of(row["expires_at"], where, now);
    }
    if (row.contains("remaining") && !row["remaining"].is_null()) {
        if (!row["remaining"].is_number_integer() ||
            (row["remaining"].is_number_unsigned() &&
             row["remaining"].get<std::uint64_t>() >
                 static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))) {
            bad(where, "remaining: expected a whole number", {{"param", "remaining"}});
        }
        k.remaining = row["remaining"].get<std::int64_t>();
    }
    if (row.contains("metadata") && !row["metadata"].is_null()) {
        k.metadata = row["metadata"];
    }
    if (row.contains("rate_limit") && !row["rate_limit"].is_null()) {
        k.rate_limit = text_field(row, "rate_limit", where);
    }
    if (row.contains("identity") && !row["identity"].is_null()) {
        k.identity_id = text_field(row, "identity", where);
    }
    try {
        check_new_key(k, now);
        if (k.rate_limit) {
            parse_rate_limit(*k.rate_limit, "rate_limit");
        }
    } catch (const Error& e) {
        bad(where, e.what(), e.details());
    }
    return out;
}

std::vector<ImportedKey> parse_import_document(const json& document, UnixMillis now) {
    const json* list = &document;
    if (document.is_object()) {
        if (!document.contains("keys") || document.size() != 1) {
            bad("", "expected {\"keys\":[…]}", {{"param", "document"}});
        }
        list = &document["keys"];
    }
    if (!list->is_array()) {
        bad("", "expected {\"keys\":[…]} or a JSON array of keys", {{"param", "document"}});
    }
    if (list->size() > k_max_import_keys) {
        bad("", "at most " + std::to_string(k_max_import_keys) + " keys per import",
            {{"param", "document"}});
    }
    std::vector<ImportedKey> out;
    out.reserve(list->size());
    for (const auto& row : *list) {
        out.push_back(read_import_row(row, "row " + std::to_string(out.size() + 1), now));
    }
    return out;
}

json import_document_schema() {
    using namespace ops::schema;
    return named(
        "KeyImportDocument",
        object({{"keys",
                 array(object({{"hash", string(std::string(k_hash_form) +
                                               ": the SHA-256 of the key's whole text")},
                               {"owner", string()},
                               {"name", optional(string())},
                               {"permissions", optional(array(string()))},
                               {"expires_at", optional(nullable(time("null: never")))},
                               {"remaining", optional(nullable(integer()))},
                               {"metadata", optional(free_object())},
                               {"rate_limit", optional(nullable(string("RATE[,BURST]")))},
                               {"identity", optional(nullable(string("An identity's id")))}}))}},
               "Other systems' keys, by hash"));
}

json import_document_from_text(std::string_view text, ImportFileFormat format, UnixMillis now) {
    if (format == ImportFileFormat::automatic) {
        const auto first = text.find_first_not_of(" \t\r\n");
        const bool json_like =
            first != std::string_view::npos && (text[first] == '{' || text[first] == '[');
        format = json_like ? ImportFileFormat::json : ImportFileFormat::csv;
    }
    if (format == ImportFileFormat::csv) {
        return csv_document(text, now);
    }
    const auto document = parse_json(text, "key import file");
    parse_import_document(document, now);
    return document.is_array() ? json{{"keys", document}} : document;
}

}  // namespace pb::keys
