#include "common/keys/import_ops.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/core/error.hpp"
#include "common/core/import_file.hpp"
#include "common/keys/import.hpp"
#include "common/keys/op_examples.hpp"
#include "common/keys/service.hpp"
#include "common/ops/schema.hpp"
#include "common/ops/validate.hpp"

namespace pb::keys {
namespace {

using nlohmann::json;
using namespace pb::ops;

// The fields of one key given by flags (the rest of keys.import's params are
// the document's, or pbctl's FILE).
constexpr std::array k_one_key_fields{"hash",        "owner",      "name",
                                      "permissions", "expires",    "remaining",
                                      "metadata",    "rate_limit", "identity"};

const char* const k_example_hash =
    "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

// pbctl keys import FILE, on the database and with --server alike: pbctl
// reads its own file, checks every line (errors name the line), and sends
// the keys as the document.
json document_from_file(const json& a) {
    json out = a;
    out.erase("file");
    out.erase("format");
    if (!a.contains("file")) {
        return out;
    }
    for (const char* field : k_one_key_fields) {
        if (a.contains(field)) {
            throw Error(ErrorCode::invalid_argument,
                        "give a FILE or --hash and the key's flags, not both", {{"param", field}});
        }
    }
    if (a.contains("document")) {
        throw Error(ErrorCode::invalid_argument, "give a FILE or --document, not both",
                    {{"param", "document"}});
    }
    const auto path = a["file"].get<std::string>();
    const auto format = a["format"].get<std::string>();
    try {
        out["document"] =
            import_document_from_text(read_import_file(path),
                                      format == "csv"    ? ImportFileFormat::csv
                                      : format == "json" ? ImportFileFormat::json
                                                         : ImportFileFormat::automatic,
                                      SystemClock::instance().now());
    } catch (const Error& e) {
        if (e.code() != ErrorCode::invalid_argument) {
            throw;
        }
        throw Error(e.code(), path + ": " + e.what() + "; nothing imported", e.details());
    }
    return out;
}

// The keys keys.import's validated args name: the document's, or the one of the flags.
std::vector<ImportedKey> keys_of(const json& a, UnixMillis now) {
    const bool one = std::any_of(k_one_key_fields.begin(), k_one_key_fields.end(),
                                 [&](const char* f) { return a.contains(f); });
    if (a.contains("document")) {
        if (one) {
            throw Error(ErrorCode::invalid_argument,
                        "give a document or one key's hash and fields, not both",
                        {{"param", "document"}});
        }
        return parse_import_document(a["document"], now);
    }
    if (!a.contains("hash")) {
        throw Error(ErrorCode::invalid_argument,
                    "give a key's hash (sha256:HEX) and owner, or a document (pbctl: a FILE)",
                    {{"param", "hash"}});
    }
    if (!a.contains("owner")) {
        throw Error(ErrorCode::invalid_argument, "owner is required with a hash",
                    {{"param", "owner"}});
    }
    json row = json::object();
    for (const char* field : k_one_key_fields) {
        if (a.contains(field)) {
            row[std::string_view(field) == "expires" ? "expires_at" : field] = a[field];
        }
    }
    return {read_import_row(row, "", now)};
}

json import_handler(Context& ctx, const json& a) {
    const auto keys = keys_of(a, ctx.clock().now());
    const auto records = ctx.service<KeyService>().import_keys(keys, ctx.caller.actor);
    json rows = json::array();
    const auto now = ctx.clock().now();
    for (const auto& k : records) {
        rows.push_back(k.to_json(now));
    }
    return json{{"imported", records.size()}, {"keys", rows}};
}

Op import_op() {
    return Op{
        .name = "keys.import",
        .summary =
            "Move other systems' keys in by the SHA-256 of their text: their holders keep "
            "them; all or none",
        .cli_note =
            "A FILE is CSV (hash,owner,name,permissions,expires_at, or a header naming "
            "the columns, identity among them; permissions separated by spaces) or JSON "
            "({\"keys\":[…]}); "
            "an error names its line and nothing is imported.",
        .params =
            {
                Param{.name = "file",
                      .help = "A CSV or JSON file of keys; pbctl reads it and sends it as the "
                              "document",
                      .positional = Positional::yes,
                      .cli_only = CliOnly::yes},
                Param{.name = "format",
                      .help = "The FILE's format",
                      .fallback = "auto",
                      .choices = {"auto", "csv", "json"},
                      .cli_only = CliOnly::yes},
                Param{.name = "document",
                      .type = ParamType::json_object,
                      .help = "Many keys: {\"keys\":[{\"hash\",\"owner\",…}]}, at most 100000 "
                              "(through pbd also at most server.max_body bytes)",
                      .secret = Secret::yes,
                      .schema = import_document_schema()},
                Param{.name = "hash",
                      .help = "One key: the SHA-256 of its whole text, as sha256:HEX (64 hex "
                              "digits)",
                      .secret = Secret::yes},
                Param{.name = "owner", .help = "Who the key belongs to (with hash)"},
                Param{.name = "name", .help = "A label for the key"},
                Param{.name = "permissions",
                      .type = ParamType::string_list,
                      .help = "A permission to grant, e.g. deploy:write (repeatable)",
                      .flag = "perm"},
                Param{.name = "expires",
                      .type = ParamType::time,
                      .help = "When it expires: a duration (30d) or an RFC 3339 time"},
                Param{.name = "remaining",
                      .type = ParamType::integer,
                      .help = "How many verifications it allows before it is exhausted",
                      .min = 1},
                Param{.name = "metadata",
                      .type = ParamType::json_object,
                      .help = "A JSON object stored with the key"},
                Param{.name = "rate_limit",
                      .help = "The key's own rate limit in pbd: RATE[,BURST], e.g. 10/s"},
                Param{.name = "identity",
                      .help = "The identity whose limits and credits it shares (it must exist)"},
            },
        .permission = "keys:write",
        .mutates = Mutates::yes,
        .route = {"POST", "/v1/keys/import"},
        .handler = import_handler,
        .quiet_field = "id",
        .columns = {"id", "owner", "name", "permissions", "status", "expires_at"},
        .list_field = "keys",
        .audit_target = "owner",
        .from_cli = document_from_file,
        .response = ops::schema::object({{"imported", ops::schema::integer()},
                                         {"keys", ops::schema::array(KeyRecord::schema())}}),
        .errors = {ErrorCode::conflict},
        .examples = {{"One key of the old system, by the SHA-256 of its text",
                      {{"hash", k_example_hash},
                       {"owner", "ci"},
                       {"name", "deploy"},
                       {"permissions", {"deploy:write"}}},
                      {{"imported", 1},
                       {"keys", {example_key({{"expires_at", nullptr}, {"imported", true}})}}}}},
    };
}

}  // namespace

void register_key_import_op(OpTable& t) {
    t.add(import_op());
}

}  // namespace pb::keys
