#include "common/tokens/issuers.hpp"

#include <algorithm>

#include "common/core/error.hpp"
#include "common/core/json_parse.hpp"
#include "common/core/log.hpp"
#include "common/core/time_format.hpp"
#include "common/events/followed_snapshot.hpp"
#include "common/events/outbox.hpp"
#include "common/ops/schema.hpp"

namespace pb::tokens {
namespace {

using nlohmann::json;
using store::Connection;

constexpr std::string_view k_topic = "tokens/issuers";
constexpr std::size_t k_max_grants = 64;

std::string seal_context(std::string_view name) {
    return "pb.issuer." + std::string(name);
}

Error bad(const std::string& param, const std::string& why) {
    return Error(ErrorCode::invalid_argument, param + ": " + why, {{"param", param}});
}

// Printable text without spaces or control characters, 1 to `max` bytes.
void check_word(const std::string& param, const std::string& value, std::size_t max,
                bool spaces_ok = false) {
    if (value.empty() || value.size() > max) {
        throw bad(param, "must be 1 to " + std::to_string(max) + " characters");
    }
    for (const char c : value) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f || (!spaces_ok && u == ' ')) {
            throw bad(param, "holds a space or a control character");
        }
    }
}

void check_name(std::string_view name) {
    if (name.empty() || name.size() > 64) {
        throw bad("name", "must be 1 to 64 characters");
    }
    for (const char c : name) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') {
            throw bad("name", "letters, digits, '-', '_' and '.' only");
        }
    }
}

// Applies `spec` to `t` (fields left unset stay). Returns the operator's key
// document when it changed, for sealing.
std::optional<json> apply(const IssuerSpec& spec, TrustedIssuer& t) {
    if (spec.issuer) {
        check_word("issuer", *spec.issuer, 512);
        t.issuer = *spec.issuer;
    }
    if (spec.audience) {
        if (spec.audience->empty()) {
            t.audience.reset();
        } else {
            check_word("audience", *spec.audience, 512);
            t.audience = *spec.audience;
        }
    }
    if (spec.grants) {
        if (spec.grants->size() > k_max_grants) {
            throw bad("grant", "at most " + std::to_string(k_max_grants) + " permissions");
        }
        std::vector<std::string> grants;
        for (const auto& g : *spec.grants) {
            check_word("grant", g, 100);
            if (std::find(grants.begin(), grants.end(), g) == grants.end()) {
                grants.push_back(g);
            }
        }
        t.grants = std::move(grants);
    }
    if (spec.allow_http) {
        t.allow_http = *spec.allow_http;
    }
    if (spec.jwks_url && spec.jwk) {
        throw Error(ErrorCode::invalid_argument, "give either jwks_url or jwk, not both");
    }
    std::optional<json> doc;
    if (spec.jwks_url) {
        t.jwks_url = *spec.jwks_url;
        t.static_keys.clear();
    }
    if (spec.jwk) {
        try {
            t.static_keys = parse_jwk_set(*spec.jwk, KeySource::operator_file);
        } catch (const Error& e) {
            throw bad("jwk", e.what());
        }
        t.jwks_url.reset();
        doc = *spec.jwk;
    }
    if (t.jwks_url) {
        check_jwks_url(*t.jwks_url, t.allow_http);
    }
    if (!t.jwks_url && t.static_keys.empty()) {
        throw Error(ErrorCode::invalid_argument,
                    "an issuer needs its keys: give jwks_url (the URL of its JWKS) or jwk (a "
                    "JWK or JWKS)");
    }
    return doc;
}

json key_list(const std::vector<IssuerKey>& keys) {
    json out = json::array();
    for (const auto& k : keys) {
        out.push_back(
            {{"kid", k.kid ? json(*k.kid) : json(nullptr)}, {"alg", to_string(k.key->alg())}});
    }
    return out;
}

}  // namespace

json TrustedIssuer::schema(bool detail) {
    using namespace ops::schema;
    std::vector<std::pair<std::string, json>> fields{
        {"name", string()},
        {"issuer", nullable(string("The pinned iss (null: disabled)"))},
        {"status", choice({"enabled", "disabled"})},
        {"audience", nullable(string())},
        {"grants", array(string(), "The permission ceiling of its tokens")},
        {"jwks_url", nullable(string())},
        {"allow_http", boolean()},
        {"created_at", time()},
        {"updated_at", time()}};
    if (!detail) {
        return named("TrustedIssuer", object(std::move(fields)));
    }
    fields.emplace_back("created_by", string());
    fields.emplace_back("keys", array(object({{"kid", nullable(string())}, {"alg", string()}})));
    fields.emplace_back("jwks", optional(object({{"url", string()},
                                                 {"fetched_at", nullable(time())},
                                                 {"keys", array(any())},
                                                 {"last_error", nullable(string())},
                                                 {"fetches", integer()}})));
    return named("TrustedIssuerDetail", object(std::move(fields)));
}

json TrustedIssuer::to_json(bool detail) const {
    json out{{"name", name},
             {"issuer", issuer ? json(*issuer) : json(nullptr)},
             {"status", enabled() ? "enabled" : "disabled"},
             {"audience", audience ? json(*audience) : json(nullptr)},
             {"grants", grants},
             {"jwks_url", jwks_url ? json(*jwks_url) : json(nullptr)},
             {"allow_http", allow_http},
             {"created_at", format_rfc3339(created_at)},
             {"updated_at", format_rfc3339(updated_at)}};
    if (detail) {
        out["created_by"] = created_by;
        out["keys"] = key_list(static_keys);
        if (remote) {
            out["jwks"] = remote->status();
        }
    }
    return out;
}

IssuerRegistry::IssuerRegistry(store::Store& store, const Clock& clock, events::Follower& follower,
                               std::function<const SecretBox&()> open_box, std::string own_issuer,
                               JwksSettings jwks)
    : m_store(store),
      m_clock(clock),
      m_follower(follower),
      m_open_box(std::move(open_box)),
      m_own_issuer(std::move(own_issuer)),
      m_jwks(jwks) {
    m_follower.on(std::string(k_topic), [this](const events::Event&) {
        std::unique_lock lock(m_mutex);
        if (m_map) {
            m_last = m_map;
        }
        m_map.reset();  // reloaded on next use
    });
}

IssuerRegistry::StoredKeys IssuerRegistry::stored_keys(const TrustedIssuer& issuer,
                                                       const std::optional<json>& doc) {
    StoredKeys out;
    if (doc) {
        out.pub = public_jwks(issuer.static_keys).dump();
        if (holds_secret(issuer.static_keys)) {
            out.sealed = m_open_box().seal(doc->dump(), seal_context(issuer.name));
        }
    }
    return out;
}

std::shared_ptr<RemoteJwks> IssuerRegistry::remote_for(const std::optional<std::string>& url,
                                                       bool allow_http, const Map* previous,
                                                       const std::string& name) {
    if (!url) {
        return nullptr;
    }
    if (previous != nullptr) {
        if (auto it = previous->find(name); it != previous->end() && it->second->remote &&
                                            it->second->remote->url() == *url &&
                                            it->second->remote->allow_http() == allow_http) {
            return it->second->remote;
        }
    }
    return std::make_shared<RemoteJwks>(*url, allow_http, m_jwks.get(), m_clock);
}

namespace {

// Brings the remotes of `map` to `jwks`; only those that differ take a copy.
void apply_jwks(
    const std::shared_ptr<
        const std::map<std::string, std::shared_ptr<const TrustedIssuer>, std::less<>>>& map,
    const JwksSettings& jwks) {
    if (!map) {
        return;
    }
    for (const auto& [name, t] : *map) {
        if (t->remote && !(t->remote->settings() == jwks)) {
            t->remote->reload(jwks);
        }
    }
}

}  // namespace

void IssuerRegistry::reload_jwks(JwksSettings jwks) {
    // Under the lock reload() installs its map with: a map built meanwhile
    // with the old settings is brought up to date there or here.
    std::unique_lock lock(m_mutex);
    if (m_jwks.get() == jwks) {
        return;
    }
    m_jwks.swap(jwks);
    apply_jwks(m_map, jwks);
    apply_jwks(m_last, jwks);
}

void IssuerRegistry::reload() {
    const auto rows = m_store.transaction(
        [](Connection& c) {
            return c.query(
                "SELECT name, issuer, audience, grants, jwks_url, allow_http, jwks, jwks_sealed, "
                "created_at, created_by, updated_at FROM token_issuers ORDER BY name");
        },
        store::TxMode::read);
    std::shared_ptr<const Map> previous;
    {
        std::shared_lock lock(m_mutex);
        previous = m_map ? m_map : m_last;
    }
    auto map = std::make_shared<Map>();
    for (const auto& r : rows) {
        auto t = std::make_shared<TrustedIssuer>();
        t->name = r.get_text(0);
        t->issuer = r.get_opt_text(1);
        t->audience = r.get_opt_text(2);
        t->grants = parse_json(r.get_text(3), "stored issuer grants", {k_max_stored_json_depth})
                        .get<std::vector<std::string>>();
        t->jwks_url = r.get_opt_text(4);
        t->allow_http = r.get_int(5) != 0;
        t->created_at = r.get_int(8);
        t->created_by = r.get_text(9);
        t->updated_at = r.get_int(10);
        try {
            if (auto sealed = r.get_opt_text(7)) {
                const auto doc = m_open_box().open_sealed(*sealed, seal_context(t->name));
                t->static_keys =
                    parse_jwk_set(parse_json(doc, "stored issuer keys", {k_max_stored_json_depth}),
                                  KeySource::operator_file);
            } else if (auto pub = r.get_opt_text(6)) {
                t->static_keys =
                    parse_jwk_set(parse_json(*pub, "stored issuer keys", {k_max_stored_json_depth}),
                                  KeySource::operator_file);
            }
        } catch (const std::exception& e) {
            log::get("tokens")->error("issuer_keys_unreadable name={} error=\"{}\"", t->name,
                                      e.what());
        }
        t->remote = remote_for(t->jwks_url, t->allow_http, previous.get(), t->name);
        (*map)[t->name] = std::move(t);
    }
    std::unique_lock lock(m_mutex);
    std::shared_ptr<const Map> installed = std::move(map);
    apply_jwks(installed, m_jwks.get());
    m_map = std::move(installed);
}

std::shared_ptr<const IssuerRegistry::Map> IssuerRegistry::snapshot() {
    return events::followed_snapshot(m_follower, m_mutex, m_map, [this] { reload(); });
}

std::vector<std::shared_ptr<const TrustedIssuer>> IssuerRegistry::list() {
    std::vector<std::shared_ptr<const TrustedIssuer>> out;
    for (const auto& [name, t] : *snapshot()) {
        out.push_back(t);
    }
    return out;
}

std::shared_ptr<const TrustedIssuer> IssuerRegistry::get(std::string_view name) {
    const auto map = snapshot();
    auto it = map->find(name);
    if (it == map->end()) {
        throw Error(ErrorCode::not_found, "no trusted issuer \"" + std::string(name) + "\"",
                    {{"name", name}});
    }
    return it->second;
}

std::shared_ptr<const TrustedIssuer> IssuerRegistry::by_iss(std::string_view iss) {
    const auto map = snapshot();
    for (const auto& [name, t] : *map) {
        if (t->issuer && *t->issuer == iss) {
            return t;
        }
    }
    return nullptr;
}

std::vector<std::string> IssuerRegistry::disabled() {
    std::vector<std::string> out;
    for (const auto& [name, t] : *snapshot()) {
        if (!t->enabled()) {
            out.push_back(name);
        }
    }
    return out;
}

void IssuerRegistry::check(const TrustedIssuer& t, const Map& others) {
    if (t.issuer && *t.issuer == m_own_issuer) {
        throw bad("issuer", "\"" + *t.issuer +
                                "\" is pb's own issuer (tokens.issuer): only pb's keys vouch "
                                "for it");
    }
    for (const auto& [name, other] : others) {
        if (name != t.name && t.issuer && other->issuer == t.issuer) {
            throw Error(ErrorCode::conflict,
                        "issuer \"" + *t.issuer + "\" is already trusted as \"" + name + "\"",
                        {{"name", name}});
        }
    }
}

std::shared_ptr<const TrustedIssuer> IssuerRegistry::add(std::string_view name,
                                                         const IssuerSpec& spec,
                                                         std::string_view actor) {
    check_name(name);
    if (!spec.issuer) {
        throw bad("issuer", "required: the \"iss\" its tokens carry");
    }
    TrustedIssuer t;
    t.name = std::string(name);
    const auto doc = apply(spec, t);
    const auto map = snapshot();
    if (map->count(name) != 0) {
        throw Error(ErrorCode::conflict, "a trusted issuer \"" + t.name + "\" already exists",
                    {{"name", t.name}});
    }
    check(t, *map);
    const auto now = m_clock.now();
    const auto stored = stored_keys(t, doc);
    m_store.transaction(
        [&](Connection& c) {
            // Checked again inside the transaction: another process may have added one.
            if (!c.query("SELECT name FROM token_issuers WHERE name = $1 OR issuer = $2",
                         {t.name, *t.issuer})
                     .empty()) {
                throw Error(ErrorCode::conflict,
                            "a trusted issuer with this name or issuer already exists",
                            {{"name", t.name}});
            }
            c.exec(
                "INSERT INTO token_issuers (name, issuer, audience, grants, jwks_url, allow_http, "
                "jwks, jwks_sealed, created_at, created_by, updated_at) VALUES ($1, $2, $3, $4, "
                "$5, $6, $7, $8, $9, $10, $9)",
                {t.name, store::nullable(t.issuer), store::nullable(t.audience),
                 json(t.grants).dump(), store::nullable(t.jwks_url),
                 std::int64_t{t.allow_http ? 1 : 0}, store::nullable(stored.pub),
                 store::nullable(stored.sealed), now, std::string(actor)});
            events::append(c, k_topic, "issuer.added", {{"name", t.name}}, now);
        },
        store::TxMode::serializable);
    {
        std::unique_lock lock(m_mutex);
        m_last = m_map;
        m_map.reset();
    }
    return get(name);
}

std::shared_ptr<const TrustedIssuer> IssuerRegistry::update(std::string_view name,
                                                            const IssuerSpec& spec,
                                                            std::string_view actor) {
    const auto current = get(name);
    TrustedIssuer t = *current;
    t.remote.reset();
    const auto doc = apply(spec, t);
    check(t, *snapshot());
    const auto now = m_clock.now();
    const bool keys_changed = doc.has_value() || (spec.jwks_url.has_value());
    const auto stored = stored_keys(t, doc);
    m_store.transaction(
        [&](Connection& c) {
            if (t.issuer && !c.query("SELECT name FROM token_issuers WHERE issuer = $1 AND name "
                                     "<> $2",
                                     {*t.issuer, t.name})
                                 .empty()) {
                throw Error(ErrorCode::conflict,
                            "issuer \"" + *t.issuer + "\" is already trusted under another name");
            }
            const auto n = c.exec(
                "UPDATE token_issuers SET issuer = $2, audience = $3, grants = $4, jwks_url = $5, "
                "allow_http = $6, updated_at = $7 WHERE name = $1",
                {t.name, store::nullable(t.issuer), store::nullable(t.audience),
                 json(t.grants).dump(), store::nullable(t.jwks_url),
                 std::int64_t{t.allow_http ? 1 : 0}, now});
            if (n == 0) {
                throw Error(ErrorCode::not_found, "no trusted issuer \"" + t.name + "\"",
                            {{"name", t.name}});
            }
            if (keys_changed) {
                c.exec("UPDATE token_issuers SET jwks = $2, jwks_sealed = $3 WHERE name = $1",
                       {t.name, store::nullable(stored.pub), store::nullable(stored.sealed)});
            }
            events::append(c, k_topic, "issuer.updated", {{"name", t.name}}, now);
        },
        store::TxMode::serializable);
    (void)actor;
    {
        std::unique_lock lock(m_mutex);
        m_last = m_map;
        m_map.reset();
    }
    return get(name);
}

void IssuerRegistry::remove(std::string_view name, std::string_view actor) {
    (void)actor;
    const auto now = m_clock.now();
    const auto n = m_store.transaction([&](Connection& c) {
        const auto removed =
            c.exec("DELETE FROM token_issuers WHERE name = $1", {std::string(name)});
        if (removed > 0) {
            events::append(c, k_topic, "issuer.removed", {{"name", name}}, now);
        }
        return removed;
    });
    if (n == 0) {
        throw Error(ErrorCode::not_found, "no trusted issuer \"" + std::string(name) + "\"",
                    {{"name", name}});
    }
    std::unique_lock lock(m_mutex);
    m_last = m_map;
    m_map.reset();
}

std::vector<std::shared_ptr<const JoseKey>> IssuerRegistry::keys_for(
    const TrustedIssuer& issuer, const std::optional<std::string>& kid, Alg alg) {
    std::shared_ptr<const std::vector<IssuerKey>> fetched;
    const std::vector<IssuerKey>* keys = &issuer.static_keys;
    if (issuer.remote) {
        fetched = issuer.remote->keys(kid);
        if (!fetched) {
            return {};
        }
        keys = fetched.get();
    }
    std::vector<std::shared_ptr<const JoseKey>> out;
    for (const auto& k : *keys) {
        // A kid names one key; a key without a kid is a candidate for its algorithm.
        if (kid && k.kid ? *k.kid == *kid : k.key->alg() == alg) {
            out.push_back(k.key);
        }
    }
    return out;
}

}  // namespace pb::tokens
