#include "common/secrets/ops.hpp"

#include <charconv>

#include "common/core/error.hpp"
#include "common/core/time_format.hpp"
#include "common/ops/paging.hpp"
#include "common/ops/schema.hpp"
#include "common/ops/validate.hpp"
#include "common/secrets/backend.hpp"

namespace pb::secrets {
namespace {

using nlohmann::json;
using namespace pb::ops;

constexpr std::size_t k_max_field_name = 256;
constexpr std::size_t k_max_fields = 256;

Param path_param() {
    return Param{.name = "path",
                 .help = "The secret's path, e.g. app/db",
                 .required = Required::yes,
                 .positional = Positional::yes};
}

Param data_param(std::string help) {
    return Param{.name = "data",
                 .type = ParamType::json_object,
                 .help = std::move(help),
                 .required = Required::yes,
                 .positional = Positional::yes,
                 .secret = ops::Secret::yes,
                 .words = ops::FieldWords::yes,
                 .schema = ops::schema::map_of(ops::schema::nullable(ops::schema::string()),
                                               "Field names and their text values")};
}

Param cas_param() {
    return Param{.name = "cas",
                 .type = ParamType::integer,
                 .help =
                     "Only if the secret's current version is this (0: only if it does not "
                     "exist yet)"};
}

Param versions_param(Required required, std::string help) {
    return Param{.name = "versions",
                 .type = ParamType::string_list,
                 .help = std::move(help),
                 .required = required};
}

std::string path_of(const json& args) {
    auto path = args.at("path").get<std::string>();
    validate_path(path);
    return path;
}

// Field names are checked and named in errors; values never are echoed.
void check_field_name(const std::string& name) {
    if (name.empty() || name.size() > k_max_field_name) {
        throw Error(ErrorCode::invalid_argument, "a field name must be 1-256 characters",
                    {{"param", "data"}});
    }
}

Fields fields_of(const json& args) {
    const auto& data = args.at("data");
    if (data.empty()) {
        throw Error(ErrorCode::invalid_argument, "give at least one field (name=value)",
                    {{"param", "data"}});
    }
    if (data.size() > k_max_fields) {
        throw Error(ErrorCode::invalid_argument, "at most 256 fields", {{"param", "data"}});
    }
    Fields out;
    for (const auto& [k, v] : data.items()) {
        check_field_name(k);
        if (!v.is_string()) {
            throw Error(ErrorCode::invalid_argument, "field \"" + k + "\": expected text",
                        {{"param", "data"}, {"field", k}});
        }
        out.emplace(k, v.get<std::string>());
    }
    return out;
}

FieldPatch patch_of(const json& args) {
    const auto& data = args.at("data");
    if (data.empty()) {
        throw Error(ErrorCode::invalid_argument, "give at least one field (name=value)",
                    {{"param", "data"}});
    }
    FieldPatch out;
    for (const auto& [k, v] : data.items()) {
        check_field_name(k);
        if (v.is_null()) {
            out.emplace(k, std::nullopt);
        } else if (v.is_string()) {
            out.emplace(k, v.get<std::string>());
        } else {
            throw Error(ErrorCode::invalid_argument,
                        "field \"" + k + "\": expected text (or null to remove it)",
                        {{"param", "data"}, {"field", k}});
        }
    }
    return out;
}

// "--versions 2,3" or repeated: positive version numbers.
std::vector<std::int64_t> versions_of(const json& args) {
    std::vector<std::int64_t> out;
    if (!args.contains("versions")) {
        return out;
    }
    for (const auto& item : args["versions"]) {
        std::string_view rest = item.get_ref<const std::string&>();
        while (true) {
            const auto comma = rest.find(',');
            const auto word = rest.substr(0, comma);
            std::int64_t v = 0;
            const auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), v);
            if (ec != std::errc() || end != word.data() + word.size() || v < 1) {
                throw Error(ErrorCode::invalid_argument,
                            "versions: expected version numbers like 2,3, got \"" +
                                std::string(word.substr(0, 40)) + "\"",
                            {{"param", "versions"}});
            }
            out.push_back(v);
            if (comma == std::string_view::npos) {
                break;
            }
            rest.remove_prefix(comma + 1);
        }
    }
    return out;
}

std::vector<std::int64_t> required_versions(const json& args) {
    auto out = versions_of(args);
    if (out.empty()) {
        throw Error(ErrorCode::invalid_argument, "versions: name at least one (e.g. 2,3)",
                    {{"param", "versions"}});
    }
    return out;
}

Backend& backend(Context& ctx) {
    return ctx.service<Backend>();
}

json versions_result(const std::string& path, const std::vector<std::int64_t>& versions,
                     std::string_view state) {
    return {{"path", path}, {"versions", versions}, {"state", state}};
}

json written_schema() {
    return ops::schema::object(
        {{"path", ops::schema::string()}, {"version", ops::schema::integer()}});
}

json versions_schema() {
    using namespace ops::schema;
    return object({{"path", string()},
                   {"versions", array(integer())},
                   {"state", choice({"deleted", "live", "destroyed"})}});
}

json example_metadata() {
    return {{"path", "app/db"},
            {"current_version", 2},
            {"oldest_version", 1},
            {"max_versions", 10},
            {"cas_required", false},
            {"created", "2026-01-02T03:04:05.678Z"},
            {"updated", "2026-01-03T03:04:05.678Z"},
            {"custom_metadata", {{"owner", "team-db"}}},
            {"versions",
             {{{"version", 1},
               {"created", "2026-01-02T03:04:05.678Z"},
               {"deleted", nullptr},
               {"destroyed", false},
               {"state", "live"}},
              {{"version", 2},
               {"created", "2026-01-03T03:04:05.678Z"},
               {"deleted", nullptr},
               {"destroyed", false},
               {"state", "live"}}}}};
}

}  // namespace

void register_secrets_ops(OpTable& t) {
    t.add(Op{
        .name = "secrets.status",
        .summary = "The secrets backend: kind, address, auth method, sealed or not, version",
        .permission = "secrets:read",
        .route = {"GET", "/v1/secrets-status"},
        .handler = [](Context& ctx, const json&) { return backend(ctx).status(); },
        .quiet_field = "sealed",
        .cli_group = "vault",
        .response =
            [] {
                using namespace ops::schema;
                return object({{"backend", choice({"local", "vault"})},
                               {"address", string()},
                               {"auth", string()},
                               {"sealed", boolean()},
                               {"version", string()},
                               {"encryption", optional(string("local"))},
                               {"secrets", optional(integer("local: how many"))},
                               {"mount", optional(string("vault"))},
                               {"namespace", optional(nullable(string("vault")))},
                               {"initialized", optional(boolean("vault"))},
                               {"standby", optional(boolean("vault"))}});
            }(),
        .examples = {{"The local backend",
                      json::object(),
                      {{"backend", "local"},
                       {"address", "/var/lib/pb/pb.db"},
                       {"auth", "master key"},
                       {"sealed", false},
                       {"version", "0.1.0"},
                       {"encryption", "AES-256-GCM"},
                       {"secrets", 3}}}},
    });
    t.add(Op{
        .name = "secrets.put",
        .summary = "Write a new version of a secret",
        .params = {path_param(), data_param("The fields: an object of strings"), cas_param()},
        .permission = "secrets:write",
        .mutates = Mutates::yes,
        .route = {"PUT", "/v1/secrets/{path...}"},
        .handler =
            [](Context& ctx, const json& a) {
                const auto path = path_of(a);
                const auto v = backend(ctx).write(path, fields_of(a), optional_int(a, "cas"));
                return json{{"path", path}, {"version", v}};
            },
        .quiet_field = "version",
        .audit_target = "path",
        .cli_group = "vault",
        .response = written_schema(),
        .errors = {ErrorCode::conflict},
        .examples =
            {{"Write two fields, only if the secret does not exist yet",
              {{"path", "app/db"}, {"data", {{"user", "svc"}, {"password", "s3cr3t"}}}, {"cas", 0}},
              {{"path", "app/db"}, {"version", 1}}}},
    });
    t.add(Op{
        .name = "secrets.get",
        .summary = "Read a secret",
        .cli_note = "The table hides the values unless --show; -o json and --field F -q print "
                    "them.",
        .params = {path_param(),
                   Param{.name = "version",
                         .type = ParamType::integer,
                         .help = "A version other than the latest",
                         .min = 1},
                   Param{.name = "field", .help = "Only this field (-q prints its bare value)"},
                   Param{.name = "show",
                         .type = ParamType::boolean,
                         .help = "Show the values in the table output"}},
        .permission = "secrets:read",
        .route = {"GET", "/v1/secrets/{path...}"},
        .handler =
            [](Context& ctx, const json& a) {
                const auto path = path_of(a);
                auto s = backend(ctx).read(path, optional_int(a, "version"));
                json out{{"path", path},
                         {"version", s.version},
                         {"created", format_rfc3339(s.created_at)}};
                if (a.contains("field")) {
                    const auto field = a["field"].get<std::string>();
                    const auto it = s.data.find(field);
                    if (it == s.data.end()) {
                        throw Error(ErrorCode::not_found,
                                    "secret \"" + path + "\" has no field \"" + field + "\"",
                                    {{"path", path}, {"field", field}});
                    }
                    out["field"] = field;
                    out["value"] = it->second;
                } else {
                    out["data"] = s.data;
                }
                return out;
            },
        .quiet_field = "value",
        .audit_target = "path",
        // Who read which secret: a read that hands out values is audited.
        .audit_read = [](const json&) { return true; },
        .cli_group = "vault",
        .masked_fields = {"data", "value"},
        .response = ops::schema::object(
            {{"path", ops::schema::string()},
             {"version", ops::schema::integer()},
             {"created", ops::schema::time()},
             {"data", ops::schema::optional(ops::schema::map_of(ops::schema::string()))},
             {"field", ops::schema::optional(ops::schema::string())},
             {"value", ops::schema::optional(ops::schema::string())}}),
        .errors = {ErrorCode::not_found},
        .examples = {{"Read a secret",
                      {{"path", "app/db"}},
                      {{"path", "app/db"},
                       {"version", 1},
                       {"created", "2026-01-02T03:04:05.678Z"},
                       {"data", {{"user", "svc"}, {"password", "s3cr3t"}}}}},
                     {"Read one field",
                      {{"path", "app/db"}, {"field", "user"}},
                      {{"path", "app/db"},
                       {"version", 1},
                       {"created", "2026-01-02T03:04:05.678Z"},
                       {"field", "user"},
                       {"value", "svc"}}}},
    });
    t.add(Op{
        .name = "secrets.patch",
        .summary = "Merge fields into a new version of an existing secret",
        .params = {path_param(),
                   data_param("NAME=VALUE words as for put; over HTTP a JSON object whose null "
                              "values remove fields"),
                   cas_param()},
        .permission = "secrets:write",
        .mutates = Mutates::yes,
        .route = {"PATCH", "/v1/secrets/{path...}"},
        .handler =
            [](Context& ctx, const json& a) {
                const auto path = path_of(a);
                const auto v = backend(ctx).patch(path, patch_of(a), optional_int(a, "cas"));
                return json{{"path", path}, {"version", v}};
            },
        .quiet_field = "version",
        .audit_target = "path",
        .cli_group = "vault",
        .response = written_schema(),
        .errors = {ErrorCode::not_found, ErrorCode::conflict},
        .examples = {{"Change one field, remove another",
                      {{"path", "app/db"}, {"data", {{"password", "n3w"}, {"old", nullptr}}}},
                      {{"path", "app/db"}, {"version", 2}}}},
    });
    t.add(Op{
        .name = "secrets.list",
        .summary = "The secrets and folders directly under a prefix, in name order, a page at a "
                   "time",
        .params = {Param{.name = "prefix",
                         .help = "A folder, e.g. app/ (empty: the top)",
                         .positional = Positional::yes,
                         .fallback = ""},
                   limit_param("names"), cursor_param()},
        .permission = "secrets:read",
        .route = {"GET", "/v1/secrets"},
        .handler =
            [](Context& ctx, const json& a) {
                const auto prefix = a.value("prefix", std::string());
                // "app" and "app/" name one folder: its cursor serves both.
                auto folder = prefix;
                while (!folder.empty() && folder.back() == '/') {
                    folder.pop_back();
                }
                const auto limit = page_limit(a);
                std::optional<std::string> after;
                if (const auto pos =
                        decode_cursor(a, "secrets", {CursorPart::text, CursorPart::text})) {
                    if ((*pos)[0].get<std::string>() != folder) {
                        throw Error(ErrorCode::invalid_argument,
                                    "cursor: from a listing of another prefix; pass the "
                                    "next_cursor of a previous page of this one",
                                    {{"param", "cursor"}});
                    }
                    after = (*pos)[1].get<std::string>();
                }
                auto names = backend(ctx).list_page(prefix, after, limit + 1);
                std::optional<std::string> next;
                if (static_cast<std::int64_t>(names.size()) > limit) {
                    names.resize(static_cast<std::size_t>(limit));
                    next = encode_cursor("secrets", json::array({folder, names.back()}));
                }
                json keys = json::array();
                for (const auto& k : names) {
                    keys.push_back({{"key", k}, {"kind", k.ends_with('/') ? "folder" : "secret"}});
                }
                return json{{"prefix", prefix}, {"keys", keys}, {"next_cursor", cursor_json(next)}};
            },
        .quiet_field = "key",
        .columns = {"key", "kind"},
        .list_field = "keys",
        .cli_group = "vault",
        .response = ops::schema::object(
            {{"prefix", ops::schema::string()},
             {"keys", ops::schema::array(ops::schema::object(
                          {{"key", ops::schema::string()},
                           {"kind", ops::schema::choice({"folder", "secret"})}}))}}),
        .examples = {{"What is under app/",
                      {{"prefix", "app/"}},
                      {{"prefix", "app/"},
                       {"keys",
                        {{{"key", "db"}, {"kind", "secret"}},
                         {{"key", "queues/"}, {"kind", "folder"}}}}}}},
    });
    t.add(Op{
        .name = "secrets.metadata",
        .summary = "A secret's versions (created, deleted, destroyed) and settings",
        .params = {path_param()},
        .permission = "secrets:read",
        .route = {"GET", "/v1/secrets-metadata/{path...}"},
        .handler = [](Context& ctx,
                      const json& a) { return to_json(backend(ctx).metadata(path_of(a))); },
        .quiet_field = "current_version",
        .cli_group = "vault",
        .response = metadata_schema(),
        .errors = {ErrorCode::not_found},
        .examples = {{"A secret's versions", {{"path", "app/db"}}, example_metadata()}},
    });
    t.add(Op{
        .name = "secrets.configure",
        .summary = "Set a secret's max versions, check-and-set requirement or custom metadata",
        .params = {path_param(),
                   Param{.name = "max_versions",
                         .type = ParamType::integer,
                         .help = "Versions to keep (0: the backend's default)"},
                   Param{.name = "cas_required",
                         .help = "Require check-and-set (cas) on every write",
                         .choices = {"true", "false"}},
                   Param{.name = "custom_metadata",
                         .type = ParamType::json_object,
                         .help = "Non-secret metadata as a JSON object of strings (replaces it)",
                         .flag = "custom",
                         .schema = ops::schema::map_of(ops::schema::string())}},
        .permission = "secrets:write",
        .mutates = Mutates::yes,
        .route = {"PUT", "/v1/secrets-metadata/{path...}"},
        .handler =
            [](Context& ctx, const json& a) {
                const auto path = path_of(a);
                MetadataUpdate u;
                u.max_versions = optional_int(a, "max_versions");
                if (a.contains("cas_required")) {
                    u.cas_required = a["cas_required"] == "true";
                }
                if (a.contains("custom_metadata")) {
                    std::map<std::string, std::string> custom;
                    for (const auto& [k, v] : a["custom_metadata"].items()) {
                        if (!v.is_string() || k.empty() || k.size() > 128 ||
                            v.get_ref<const std::string&>().size() > 512) {
                            throw Error(ErrorCode::invalid_argument,
                                        "custom metadata: names of 1-128 characters with text "
                                        "values of at most 512",
                                        {{"param", "custom_metadata"}});
                        }
                        custom.emplace(k, v.get<std::string>());
                    }
                    u.custom_metadata = std::move(custom);
                }
                backend(ctx).update_metadata(path, u);
                return to_json(backend(ctx).metadata(path));
            },
        .audit_target = "path",
        .cli_group = "vault",
        .response = metadata_schema(),
        .errors = {ErrorCode::not_found},
        .examples = {{"Keep 10 versions, tag the owner",
                      {{"path", "app/db"},
                       {"max_versions", 10},
                       {"custom_metadata", {{"owner", "team-db"}}}},
                      example_metadata()}},
    });
    t.add(Op{
        .name = "secrets.delete",
        .summary = "Soft-delete the latest version, or the versions named (undelete restores)",
        .params = {path_param(),
                   versions_param(Required::no,
                                  "Versions to delete, e.g. 2,3 (default: the latest)")},
        .permission = "secrets:write",
        .mutates = Mutates::yes,
        .route = {"DELETE", "/v1/secrets/{path...}"},
        .handler =
            [](Context& ctx, const json& a) {
                const auto path = path_of(a);
                const auto versions = versions_of(a);
                backend(ctx).remove(path, versions);
                return versions_result(path, versions, "deleted");
            },
        .audit_target = "path",
        .cli_group = "vault",
        .response = versions_schema(),
        .errors = {ErrorCode::not_found},
        .examples = {{"Soft-delete versions 1 and 2",
                      {{"path", "app/db"}, {"versions", {"1,2"}}},
                      {{"path", "app/db"}, {"versions", {1, 2}}, {"state", "deleted"}}}},
    });
    t.add(Op{
        .name = "secrets.undelete",
        .summary = "Restore soft-deleted versions of a secret",
        .params = {path_param(), versions_param(Required::yes, "Versions to restore, e.g. 2,3")},
        .permission = "secrets:write",
        .mutates = Mutates::yes,
        .route = {"POST", "/v1/secrets-undelete/{path...}"},
        .handler =
            [](Context& ctx, const json& a) {
                const auto path = path_of(a);
                const auto versions = required_versions(a);
                backend(ctx).undelete(path, versions);
                return versions_result(path, versions, "live");
            },
        .audit_target = "path",
        .cli_group = "vault",
        .response = versions_schema(),
        .errors = {ErrorCode::not_found},
        .examples = {{"Restore version 2",
                      {{"path", "app/db"}, {"versions", {"2"}}},
                      {{"path", "app/db"}, {"versions", {2}}, {"state", "live"}}}},
    });
    t.add(Op{
        .name = "secrets.destroy",
        .summary = "Erase versions of a secret for good (their metadata stays)",
        .params = {path_param(), versions_param(Required::yes, "Versions to destroy, e.g. 1,2")},
        .permission = "secrets:write",
        .mutates = Mutates::yes,
        .route = {"POST", "/v1/secrets-destroy/{path...}"},
        .handler =
            [](Context& ctx, const json& a) {
                const auto path = path_of(a);
                const auto versions = required_versions(a);
                backend(ctx).destroy(path, versions);
                return versions_result(path, versions, "destroyed");
            },
        .audit_target = "path",
        .cli_group = "vault",
        .response = versions_schema(),
        .errors = {ErrorCode::not_found},
        .examples = {{"Erase version 1",
                      {{"path", "app/db"}, {"versions", {"1"}}},
                      {{"path", "app/db"}, {"versions", {1}}, {"state", "destroyed"}}}},
    });
}

}  // namespace pb::secrets
