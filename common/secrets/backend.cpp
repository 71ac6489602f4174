#include "common/secrets/backend.hpp"

#include "common/core/error.hpp"
#include "common/core/time_format.hpp"
#include "common/ops/schema.hpp"

namespace pb::secrets {
namespace {

constexpr std::size_t k_max_path = 512;

bool path_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

}  // namespace

void validate_path(std::string_view path) {
    const auto bad = [&](std::string_view why) {
        throw Error(ErrorCode::invalid_argument,
                    "secret path \"" + std::string(path.substr(0, 80)) + "\": " + std::string(why),
                    {{"param", "path"}});
    };
    if (path.empty()) {
        bad("is empty");
    }
    if (path.size() > k_max_path) {
        bad("is longer than 512 characters");
    }
    std::string_view rest = path;
    while (true) {
        const auto slash = rest.find('/');
        const auto segment = rest.substr(0, slash);
        if (segment.empty()) {
            bad("has an empty segment (a leading, trailing or double \"/\")");
        }
        if (segment == "." || segment == "..") {
            bad("has a \".\" or \"..\" segment");
        }
        for (char c : segment) {
            if (!path_char(c)) {
                bad("may hold only letters, digits, \".\", \"_\", \"-\" and \"/\"");
            }
        }
        if (slash == std::string_view::npos) {
            break;
        }
        rest.remove_prefix(slash + 1);
    }
}

std::string folder_of(std::string_view prefix) {
    std::string base(prefix);
    while (!base.empty() && base.back() == '/') {
        base.pop_back();
    }
    if (!base.empty()) {
        validate_path(base);
        base += '/';
    }
    return base;
}

std::vector<std::string> Backend::list_page(std::string_view prefix,
                                            const std::optional<std::string>& after,
                                            std::int64_t limit) {
    std::vector<std::string> out;
    for (auto& name : list(prefix)) {
        if (static_cast<std::int64_t>(out.size()) >= limit) {
            break;
        }
        if (!after || name > *after) {
            out.push_back(std::move(name));
        }
    }
    return out;
}

nlohmann::json metadata_schema() {
    using namespace ops::schema;
    const auto version_row = object({{"version", integer()},
                                     {"created", time()},
                                     {"deleted", nullable(time())},
                                     {"destroyed", boolean()},
                                     {"state", choice({"live", "deleted", "destroyed"})}});
    return named("SecretMetadata", object({{"path", string()},
                                           {"current_version", integer()},
                                           {"oldest_version", integer()},
                                           {"max_versions", integer()},
                                           {"cas_required", boolean()},
                                           {"created", time()},
                                           {"updated", time()},
                                           {"custom_metadata", map_of(string())},
                                           {"versions", array(version_row)}}));
}

nlohmann::json to_json(const Metadata& m) {
    nlohmann::json versions = nlohmann::json::array();
    for (const auto& v : m.versions) {
        versions.push_back(
            {{"version", v.version},
             {"created", format_rfc3339(v.created_at)},
             {"deleted", time_or_null(v.deleted_at)},
             {"destroyed", v.destroyed},
             {"state", v.destroyed ? "destroyed" : (v.deleted_at ? "deleted" : "live")}});
    }
    return {{"path", m.path},
            {"current_version", m.current_version},
            {"oldest_version", m.oldest_version},
            {"max_versions", m.max_versions},
            {"cas_required", m.cas_required},
            {"created", format_rfc3339(m.created_at)},
            {"updated", format_rfc3339(m.updated_at)},
            {"custom_metadata", m.custom_metadata},
            {"versions", versions}};
}

}  // namespace pb::secrets
