#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/core/clock.hpp"
#include "common/keys/service.hpp"

namespace pb::keys {

// keys.import's input, read the same way on every surface: one key by its
// hash text, a document of many, or (pbctl) a CSV or JSON file made into
// that document. Every read throws Error(invalid_argument) naming where
// ("row 3: …" in a document, "line 4: …" in a CSV file) and never echoes a
// hash; nothing is written by a read.

// "sha256:HEX" (64 hex digits, either case) as its 64 lowercase digits.
// Another algorithm ("md5:…"), another length or a non-hex digit is refused.
std::string parse_key_hash(std::string_view text);

// One key of a document: {"hash":"sha256:…","owner":…, "name", "permissions",
// "expires_at", "remaining", "metadata", "rate_limit"}; `where` prefixes its
// errors. An unknown field is refused (a typo must not drop a permission).
ImportedKey read_import_row(const nlohmann::json& row, std::string_view where, UnixMillis now);

// The keys of keys.import's document {"keys":[row, …]} (at most k_max_import_keys).
std::vector<ImportedKey> parse_import_document(const nlohmann::json& document, UnixMillis now);
// The JSON Schema of that document ("KeyImportDocument").
nlohmann::json import_document_schema();

enum class ImportFileFormat { automatic, csv, json };

// pbctl keys import FILE: the text of a JSON file (the document, or its bare
// array of rows) or a CSV file (one key a line; an optional header naming the
// columns hash, owner, name, permissions, expires_at, remaining, metadata,
// rate_limit, else the columns are hash,owner,name,permissions,expires_at;
// permissions separated by spaces, metadata a JSON object), every row checked
// as the op checks it, as the document the op takes. `automatic` picks JSON
// when the text starts with { or [.
nlohmann::json import_document_from_text(std::string_view text, ImportFileFormat format,
                                         UnixMillis now);

}  // namespace pb::keys
