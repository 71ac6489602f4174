#include "common/secrets/local_backend.hpp"

#include <algorithm>
#include <set>

#include <openssl/crypto.h>

#include "common/core/error.hpp"
#include "common/core/json_parse.hpp"
#include "common/events/outbox.hpp"

namespace pb::secrets {

struct LocalBackend::Head {
    std::int64_t current_version = 0;
    std::int64_t oldest_version = 0;
    std::int64_t max_versions = 0;
    bool cas_required = false;
};

namespace {

using nlohmann::json;

// Binds a ciphertext to its row: "@" cannot occur in a path.
std::string aad(std::string_view path, std::int64_t version) {
    return "pb.secrets.v1:" + std::string(path) + "@" + std::to_string(version);
}

std::string topic(std::string_view path) {
    return "secrets/" + std::string(path);
}

// Appends rather than concatenates: GCC 12 warns falsely on '"' + string + '"'.
std::string quoted(std::string_view path) {
    std::string out;
    out.reserve(path.size() + 2);
    out += '"';
    out.append(path);
    out += '"';
    return out;
}

[[noreturn]] void no_secret(std::string_view path) {
    throw Error(ErrorCode::not_found, "no secret at " + quoted(path), {{"path", path}});
}

void check_cas(std::string_view path, std::int64_t current, bool cas_required,
               std::optional<std::int64_t> cas) {
    if (!cas && cas_required) {
        throw Error(ErrorCode::conflict,
                    "secret " + quoted(path) + " requires check-and-set: give --cas VERSION",
                    {{"path", path}});
    }
    if (cas && *cas != current) {
        throw Error(ErrorCode::conflict,
                    "check-and-set failed: secret " + quoted(path) + " is at version " +
                        std::to_string(current) + ", not " + std::to_string(*cas),
                    {{"path", path}, {"current_version", current}});
    }
}

std::optional<LocalBackend::Head> read_head(store::Connection& c, std::string_view path) {
    const auto rows = c.query(
        "SELECT current_version, oldest_version, max_versions, cas_required FROM secrets WHERE "
        "path = $1",
        {std::string(path)});
    if (rows.empty()) {
        return std::nullopt;
    }
    const auto& r = rows.front();
    return LocalBackend::Head{r.get_int(0), r.get_int(1), r.get_int(2), r.get_int(3) != 0};
}

}  // namespace

LocalBackend::LocalBackend(store::Store& store, const Clock& clock,
                           std::function<const SecretBox&()> box, std::int64_t default_max_versions)
    : m_store(store),
      m_clock(clock),
      m_box(std::move(box)),
      m_default_max_versions(default_max_versions) {}

json LocalBackend::status() {
    const auto count = m_store.transaction(
        [](store::Connection& c) {
            return c.query("SELECT COUNT(*) FROM secrets").front().get_int(0);
        },
        store::TxMode::read);
    return {{"backend", "local"}, {"address", m_store.location()}, {"auth", "master key"},
            {"sealed", false},    {"version", PB_VERSION},         {"encryption", "AES-256-GCM"},
            {"secrets", count}};
}

Fields LocalBackend::open_fields(std::string_view path, std::int64_t version,
                                 const std::string& sealed) {
    std::string plain;
    try {
        plain = m_box().open_sealed(sealed, aad(path, version));
    } catch (const Error& e) {
        if (e.code() != ErrorCode::internal) {
            throw;  // the key file itself could not be opened: its own message
        }
        throw Error(ErrorCode::internal,
                    "secret " + quoted(path) + " version " + std::to_string(version) +
                        " does not decrypt with this master key (wrong "
                        "security.master_key_file, or the stored value was altered)",
                    {{"path", path}, {"version", version}});
    }
    auto j = parse_json_or_discarded(plain, {k_max_stored_json_depth});
    OPENSSL_cleanse(plain.data(), plain.size());
    if (!j.is_object()) {
        throw Error(ErrorCode::internal, "secret " + quoted(path) + " holds damaged data");
    }
    Fields out;
    for (auto& [k, v] : j.items()) {
        out.emplace(k, v.is_string() ? v.get<std::string>() : v.dump());
    }
    return out;
}

namespace {
constexpr std::size_t k_max_cached = 10'000;
}  // namespace

std::optional<LocalBackend::Cached> LocalBackend::cached_latest(std::string_view path,
                                                                std::uint64_t token) {
    std::lock_guard lock(m_cache_mutex);
    if (token != m_cache_token) {
        m_cache.clear();
        m_cache_token = token;
        return std::nullopt;
    }
    const auto it = m_cache.find(std::string(path));
    if (it == m_cache.end()) {
        return std::nullopt;
    }
    return it->second;
}

void LocalBackend::remember_latest(std::string_view path, std::uint64_t token, const Cached& row) {
    std::lock_guard lock(m_cache_mutex);
    // The token was taken before the query: a commit since then has moved it,
    // and this (possibly stale) row must not be kept.
    if (token != m_cache_token) {
        return;
    }
    if (m_cache.size() >= k_max_cached) {
        m_cache.clear();
    }
    m_cache[std::string(path)] = row;
}

Secret LocalBackend::read(std::string_view path, std::optional<std::int64_t> version) {
    using Found = Cached;
    const auto token = m_store.change_token();
    if (!version) {
        if (auto hit = cached_latest(path, token)) {
            return Secret{std::string(path), hit->version, hit->created_at,
                          open_fields(path, hit->version, hit->sealed)};
        }
    }
    const auto found = m_store.transaction(
        [&](store::Connection& c) {
            const auto head = read_head(c, path);
            if (!head || head->current_version == 0) {
                no_secret(path);
            }
            const auto v = version.value_or(head->current_version);
            const auto rows = c.query(
                "SELECT sealed, created_at, deleted_at, destroyed FROM secret_versions WHERE "
                "path = $1 AND version = $2",
                {std::string(path), v});
            const std::string which = "secret " + quoted(path) + " version " + std::to_string(v);
            const json details{{"path", path}, {"version", v}};
            if (rows.empty()) {
                throw Error(ErrorCode::not_found, which + " does not exist", details);
            }
            const auto& r = rows.front();
            if (r.get_int(3) != 0) {
                throw Error(ErrorCode::not_found, which + " is destroyed", details);
            }
            if (!r.is_null(2)) {
                throw Error(ErrorCode::not_found, which + " is deleted (undelete brings it back)",
                            details);
            }
            return Found{v, r.get_text(0), r.get_int(1)};
        },
        store::TxMode::read);
    auto fields = open_fields(path, found.version, found.sealed);
    if (!version) {
        remember_latest(path, token, found);
    }
    return Secret{std::string(path), found.version, found.created_at, std::move(fields)};
}

std::int64_t LocalBackend::store_version(store::Connection& c, std::string_view path,
                                         const std::optional<Head>& head, const Fields& data,
                                         std::optional<std::int64_t> cas) {
    const auto current = head ? head->current_version : 0;
    check_cas(path, current, head && head->cas_required, cas);
    const auto now = m_clock.now();
    const auto version = current + 1;
    json plain(data);
    auto text = plain.dump();
    const auto sealed = m_box().seal(text, aad(path, version));
    OPENSSL_cleanse(text.data(), text.size());
    const std::string p(path);
    if (!head) {
        c.exec(
            "INSERT INTO secrets (path, current_version, oldest_version, max_versions, "
            "cas_required, custom_metadata, created_at, updated_at) VALUES ($1, 1, 1, 0, 0, "
            "'{}', $2, $2)",
            {p, now});
    }
    c.exec(
        "INSERT INTO secret_versions (path, version, sealed, created_at) VALUES ($1, $2, $3, $4)",
        {p, version, sealed, now});
    // Vault keeps the newest max_versions versions and forgets older ones entirely.
    const auto max = head && head->max_versions > 0 ? head->max_versions : m_default_max_versions;
    auto oldest = head && head->oldest_version > 0 ? head->oldest_version : 1;
    if (max > 0 && version - oldest + 1 > max) {
        oldest = version - max + 1;
        c.exec("DELETE FROM secret_versions WHERE path = $1 AND version < $2", {p, oldest});
    }
    c.exec(
        "UPDATE secrets SET current_version = $2, oldest_version = $3, updated_at = $4 WHERE "
        "path = $1",
        {p, version, oldest, now});
    events::append(c, topic(path), "secret.written", {{"path", path}, {"version", version}}, now);
    return version;
}

std::int64_t LocalBackend::write(std::string_view path, const Fields& data,
                                 std::optional<std::int64_t> cas) {
    return m_store.transaction([&](store::Connection& c) {
        return store_version(c, path, read_head(c, path), data, cas);
    });
}

std::int64_t LocalBackend::patch(std::string_view path, const FieldPatch& patch,
                                 std::optional<std::int64_t> cas) {
    return m_store.transaction([&](store::Connection& c) {
        const auto head = read_head(c, path);
        if (!head || head->current_version == 0) {
            no_secret(path);
        }
        // Check first: a stale cas must not decrypt anything.
        check_cas(path, head->current_version, head->cas_required, cas);
        const auto rows = c.query(
            "SELECT sealed FROM secret_versions WHERE path = $1 AND version = $2 AND deleted_at "
            "IS NULL AND destroyed = 0",
            {std::string(path), head->current_version});
        if (rows.empty()) {
            throw Error(ErrorCode::not_found,
                        "secret " + quoted(path) + " has no readable latest version to patch",
                        {{"path", path}});
        }
        auto fields = open_fields(path, head->current_version, rows.front().get_text(0));
        for (const auto& [k, v] : patch) {
            if (v) {
                fields[k] = *v;
            } else {
                fields.erase(k);
            }
        }
        return store_version(c, path, head, fields, cas);
    });
}

std::vector<std::string> LocalBackend::list(std::string_view prefix) {
    const auto base = folder_of(prefix);
    // A range instead of LIKE: "_" in a path must not act as a wildcard. '0'
    // sorts right after '/', so [base, base-with-'0') is everything under it.
    std::string upper = base;
    if (!upper.empty()) {
        upper.back() = '0';
    }
    const auto rows = m_store.transaction(
        [&](store::Connection& c) {
            return upper.empty()
                       ? c.query("SELECT path FROM secrets")
                       : c.query("SELECT path FROM secrets WHERE path >= $1 AND path < $2",
                                 {base, upper});
        },
        store::TxMode::read);
    std::set<std::string> names;
    for (const auto& r : rows) {
        const auto rest = std::string_view(r.get_text(0)).substr(base.size());
        const auto slash = rest.find('/');
        names.emplace(slash == std::string_view::npos ? rest : rest.substr(0, slash + 1));
    }
    return {names.begin(), names.end()};
}

std::vector<std::string> LocalBackend::list_page(std::string_view prefix,
                                                 const std::optional<std::string>& after,
                                                 std::int64_t limit) {
    const auto base = folder_of(prefix);
    std::string upper = base;
    if (!upper.empty()) {
        upper.back() = '0';
    }
    // A seek from the last name given: past a secret, or past a whole folder
    // (everything under "x/" sorts before "x0"), so each page reads only the
    // rows it shows plus one per folder.
    std::string from = base;
    bool inclusive = true;
    if (after) {
        if (after->ends_with('/')) {
            from = base + after->substr(0, after->size() - 1) + '0';
        } else {
            from = base + *after;
            inclusive = false;
        }
    }
    std::vector<std::string> names;
    m_store.transaction(
        [&](store::Connection& c) {
            while (static_cast<std::int64_t>(names.size()) < limit) {
                const auto want = limit - static_cast<std::int64_t>(names.size());
                std::string sql = std::string("SELECT path FROM secrets WHERE path ") +
                                  (inclusive ? ">=" : ">") + " $1";
                store::Params params{from};
                if (!upper.empty()) {
                    params.emplace_back(upper);
                    sql += " AND path < $2";
                }
                params.emplace_back(want);
                sql += " ORDER BY path LIMIT $" + std::to_string(params.size());
                const auto rows = c.query(sql, params);
                bool reseek = false;
                for (const auto& r : rows) {
                    const auto path = r.get_text(0);
                    const auto rest = std::string_view(path).substr(base.size());
                    const auto slash = rest.find('/');
                    if (slash == std::string_view::npos) {
                        names.emplace_back(rest);
                        from = path;
                        inclusive = false;
                        continue;
                    }
                    names.emplace_back(rest.substr(0, slash + 1));
                    from = base + std::string(rest.substr(0, slash)) + '0';
                    inclusive = true;
                    reseek = true;
                    break;
                }
                if (!reseek && static_cast<std::int64_t>(rows.size()) < want) {
                    break;
                }
            }
        },
        store::TxMode::read);
    return names;
}

Metadata LocalBackend::metadata(std::string_view path) {
    return m_store.transaction(
        [&](store::Connection& c) {
            const auto rows = c.query(
                "SELECT current_version, oldest_version, max_versions, cas_required, "
                "custom_metadata, created_at, updated_at FROM secrets WHERE path = $1",
                {std::string(path)});
            if (rows.empty()) {
                no_secret(path);
            }
            const auto& r = rows.front();
            Metadata m{std::string(path), r.get_int(0), r.get_int(1), r.get_int(2),
                       r.get_int(3) != 0};
            m.created_at = r.get_int(5);
            m.updated_at = r.get_int(6);
            const auto custom = parse_json_or_discarded(r.get_text(4), {k_max_stored_json_depth});
            if (custom.is_object()) {
                for (const auto& [k, v] : custom.items()) {
                    m.custom_metadata.emplace(k, v.is_string() ? v.get<std::string>() : v.dump());
                }
            }
            for (const auto& v :
                 c.query("SELECT version, created_at, deleted_at, destroyed FROM secret_versions "
                         "WHERE path = $1 ORDER BY version",
                         {std::string(path)})) {
                m.versions.push_back(
                    VersionInfo{v.get_int(0), v.get_int(1), v.get_opt_int(2), v.get_int(3) != 0});
            }
            return m;
        },
        store::TxMode::read);
}

void LocalBackend::update_metadata(std::string_view path, const MetadataUpdate& update) {
    m_store.transaction([&](store::Connection& c) {
        const auto now = m_clock.now();
        const std::string p(path);
        if (!read_head(c, path)) {
            c.exec(
                "INSERT INTO secrets (path, current_version, oldest_version, max_versions, "
                "cas_required, custom_metadata, created_at, updated_at) VALUES ($1, 0, 0, 0, 0, "
                "'{}', $2, $2)",
                {p, now});
        }
        if (update.max_versions) {
            c.exec("UPDATE secrets SET max_versions = $2 WHERE path = $1",
                   {p, *update.max_versions});
        }
        if (update.cas_required) {
            c.exec("UPDATE secrets SET cas_required = $2 WHERE path = $1",
                   {p, std::int64_t{*update.cas_required ? 1 : 0}});
        }
        if (update.custom_metadata) {
            c.exec("UPDATE secrets SET custom_metadata = $2 WHERE path = $1",
                   {p, json(*update.custom_metadata).dump()});
        }
        c.exec("UPDATE secrets SET updated_at = $2 WHERE path = $1", {p, now});
        events::append(c, topic(path), "secret.metadata", {{"path", path}}, now);
    });
}

void LocalBackend::mark_versions(std::string_view path, const std::vector<std::int64_t>& asked,
                                 std::string_view action) {
    m_store.transaction([&](store::Connection& c) {
        const auto head = read_head(c, path);
        if (!head) {
            no_secret(path);
        }
        auto versions = asked;
        if (versions.empty()) {
            if (action != "deleted" || head->current_version == 0) {
                throw Error(ErrorCode::invalid_argument, "name the versions (--versions 1,2)",
                            {{"param", "versions"}});
            }
            versions.push_back(head->current_version);
        }
        const auto now = m_clock.now();
        const std::string p(path);
        for (const auto v : versions) {
            if (action == "deleted") {
                c.exec(
                    "UPDATE secret_versions SET deleted_at = $3 WHERE path = $1 AND version = $2 "
                    "AND deleted_at IS NULL AND destroyed = 0",
                    {p, v, now});
            } else if (action == "undeleted") {
                c.exec(
                    "UPDATE secret_versions SET deleted_at = NULL WHERE path = $1 AND version = "
                    "$2 AND destroyed = 0",
                    {p, v});
            } else {
                c.exec(
                    "UPDATE secret_versions SET sealed = NULL, destroyed = 1 WHERE path = $1 AND "
                    "version = $2",
                    {p, v});
            }
        }
        c.exec("UPDATE secrets SET updated_at = $2 WHERE path = $1", {p, now});
        events::append(c, topic(path), "secret." + std::string(action),
                       {{"path", path}, {"versions", versions}}, now);
    });
}

void LocalBackend::remove(std::string_view path, const std::vector<std::int64_t>& versions) {
    mark_versions(path, versions, "deleted");
}

void LocalBackend::undelete(std::string_view path, const std::vector<std::int64_t>& versions) {
    mark_versions(path, versions, "undeleted");
}

void LocalBackend::destroy(std::string_view path, const std::vector<std::int64_t>& versions) {
    mark_versions(path, versions, "destroyed");
}

}  // namespace pb::secrets
