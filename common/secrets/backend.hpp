#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/core/clock.hpp"

namespace pb::secrets {

// A secret's fields: name -> value. Values are text (a Vault value that is not
// a string is read as its JSON text).
using Fields = std::map<std::string, std::string>;
// A merge patch: a value sets the field, nullopt removes it.
using FieldPatch = std::map<std::string, std::optional<std::string>>;

// One version of a secret, as metadata shows it.
struct VersionInfo {
    std::int64_t version = 0;
    UnixMillis created_at = 0;
    std::optional<UnixMillis> deleted_at;  // soft-deleted (undelete brings it back)
    bool destroyed = false;                // its value is gone for good
};

// A secret's metadata (Vault KV v2's metadata/ endpoint).
struct Metadata {
    std::string path;
    std::int64_t current_version = 0;
    std::int64_t oldest_version = 0;
    std::int64_t max_versions = 0;  // 0: the backend's default
    bool cas_required = false;
    UnixMillis created_at = 0;
    UnixMillis updated_at = 0;
    std::map<std::string, std::string> custom_metadata;
    std::vector<VersionInfo> versions;  // oldest first
};

// What reading a secret returns.
struct Secret {
    std::string path;
    std::int64_t version = 0;
    UnixMillis created_at = 0;
    Fields data;
};

// Settings of a secret (Vault's metadata write). Absent members are unchanged.
struct MetadataUpdate {
    std::optional<std::int64_t> max_versions;
    std::optional<bool> cas_required;
    std::optional<std::map<std::string, std::string>> custom_metadata;
};

// A versioned key-value secret store with Vault KV v2's semantics. Paths are
// validated by the caller (validate_path). Errors are pb::Error:
// not_found (no such secret or version, or it is deleted or destroyed),
// conflict (check-and-set mismatch, or cas required and not given),
// permission_denied, unavailable (backend unreachable, sealed, timed out),
// invalid_argument. No error message ever holds a secret value.
// Implementations are thread-safe.
class Backend {
  public:
    virtual ~Backend() = default;

    // Backend, address, auth method, sealed or not, version.
    virtual nlohmann::json status() = 0;
    // The latest version, or `version` (> 0).
    virtual Secret read(std::string_view path, std::optional<std::int64_t> version) = 0;
    // Writes a new version. `cas`: only if the current version is *cas (0: only
    // if the secret does not exist). Returns the new version.
    virtual std::int64_t write(std::string_view path, const Fields& data,
                               std::optional<std::int64_t> cas) = 0;
    // Merges `patch` into the latest version as a new version (not_found when
    // there is no readable latest version).
    virtual std::int64_t patch(std::string_view path, const FieldPatch& patch,
                               std::optional<std::int64_t> cas) = 0;
    // The names directly under `prefix` ("" or "a/b"): secrets as "name",
    // folders as "name/", sorted. Empty when there are none.
    virtual std::vector<std::string> list(std::string_view prefix) = 0;
    // One page of list(prefix): at most `limit` names, those after `after`
    // (a name a previous page ended with) when given. This default reads the
    // whole list (Vault lists a folder in one answer); a backend that can seek
    // overrides it.
    virtual std::vector<std::string> list_page(std::string_view prefix,
                                               const std::optional<std::string>& after,
                                               std::int64_t limit);
    virtual Metadata metadata(std::string_view path) = 0;
    // Changes settings; creates the metadata of a path that has no secret yet.
    virtual void update_metadata(std::string_view path, const MetadataUpdate& update) = 0;
    // Soft-deletes `versions` (empty: the latest). not_found for an unknown path;
    // versions that do not exist are ignored, as Vault does.
    virtual void remove(std::string_view path, const std::vector<std::int64_t>& versions) = 0;
    virtual void undelete(std::string_view path, const std::vector<std::int64_t>& versions) = 0;
    // Erases the values of `versions` for good; their metadata stays.
    virtual void destroy(std::string_view path, const std::vector<std::int64_t>& versions) = 0;
};

// Throws Error(invalid_argument) unless `path` is 1-512 characters of
// [A-Za-z0-9._-] segments joined by single "/", none "." or "..".
void validate_path(std::string_view path);
// The folder a list `prefix` names, as the start of its paths: trailing
// slashes dropped, validated, then one '/' ("app//" -> "app/"; "" -> "").
std::string folder_of(std::string_view prefix);

// JSON forms used by the ops.
nlohmann::json to_json(const Metadata& m);
// The JSON Schema of to_json(Metadata) ("SecretMetadata").
nlohmann::json metadata_schema();

}  // namespace pb::secrets
