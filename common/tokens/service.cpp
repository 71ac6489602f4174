#include "common/tokens/service.hpp"

#include <set>

#include "common/core/crypto.hpp"
#include "common/core/error.hpp"
#include "common/core/json_parse.hpp"
#include "common/core/time_format.hpp"
#include "common/events/outbox.hpp"
#include "common/ops/schema.hpp"

namespace pb::tokens {
namespace {

using nlohmann::json;
using store::Connection;

constexpr std::string_view k_revocation_topic = "tokens/revocations";
const std::set<std::string> k_reserved{"iss", "sub", "aud",       "exp", "nbf",
                                       "iat", "jti", "token_use", "fam"};

std::string family_id(std::string_view fam) {
    return "family:" + std::string(fam);
}

// A name from a token, quoted and cut short for a refusal: it is the token's own text.
std::string shown_quoted(std::string_view text) {
    constexpr std::size_t k_max = 100;
    std::string out = "\"";
    if (text.size() <= k_max) {
        out.append(text);
        out += '"';
        return out;
    }
    std::size_t n = k_max;
    while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) {
        --n;  // not inside a UTF-8 sequence
    }
    out.append(text.data(), n);
    out += "…\"";
    return out;
}

TokenCheck refuse(Reason reason, std::string message) {
    TokenCheck c;
    c.reason = reason;
    c.message = std::move(message);
    return c;
}

// A token.revoked event's expires_at: RFC 3339, or Unix ms in events written
// before pb 0.1 settled on one time format. Unreadable: revoked for good, in
// memory until the next load from the store (which holds the number).
UnixMillis revocation_expiry(const json& data) {
    const auto it = data.find("expires_at");
    if (it != data.end() && it->is_number_integer()) {
        return it->get<UnixMillis>();
    }
    if (it != data.end() && it->is_string()) {
        if (const auto t = parse_rfc3339(it->get<std::string>())) {
            return *t;
        }
    }
    return k_max_instant_ms;
}

}  // namespace

json TokenCheck::schema() {
    using namespace ops::schema;
    return named("TokenVerdict",
                 object({{"valid", boolean()},
                         {"reason",
                          optional(choice({"malformed", "bad_signature", "expired", "not_yet_valid",
                                           "wrong_audience", "wrong_issuer", "revoked",
                                           "unknown_key", "unsupported_alg", "wrong_token_type"}))},
                         {"message", optional(string())},
                         {"header", optional(free_object())},
                         {"claims", optional(free_object())},
                         {"trusted_issuer", optional(string("The trusted issuer that vouched"))}}));
}

json TokenService::issued_schema() {
    using namespace ops::schema;
    return named("IssuedTokens", object({{"access_token", string()},
                                         {"token_type", choice({"bearer"})},
                                         {"expires_in", integer("Seconds")},
                                         {"refresh_token", optional(string())},
                                         {"refresh_expires_in", optional(integer("Seconds"))}}));
}

json TokenCheck::to_json() const {
    if (!valid) {
        return {{"valid", false}, {"reason", to_string(reason)}, {"message", message}};
    }
    json out{{"valid", true}, {"header", header()}, {"claims", claims()}};
    if (issuer) {
        out["trusted_issuer"] = issuer->name;
    }
    return out;
}

const json& TokenCheck::header() const {
    if (!m_header) {
        m_header = header_text.empty() ? json::object() : parse_json(header_text, "token header");
    }
    return *m_header;
}

const json& TokenCheck::claims() const {
    if (!m_claims) {
        m_claims = claims_text.empty() ? json::object() : parse_json(claims_text, "token payload");
    }
    return *m_claims;
}

TokenService::TokenService(store::Store& store, const Clock& clock, events::Follower& follower,
                           KeyRing& ring, TokenSettings settings)
    : m_store(store),
      m_clock(clock),
      m_follower(follower),
      m_ring(ring),
      m_settings(std::move(settings)),
      m_issuers(std::make_unique<IssuerRegistry>(store, clock, follower, ring.box_opener(),
                                                 m_settings->issuer, m_settings->jwks)) {
    load_revocations();
    m_follower.on(std::string(k_revocation_topic), [this](const events::Event& e) {
        std::unique_lock lock(m_revoked_mutex);
        m_revoked[e.data.value("id", std::string())] = revocation_expiry(e.data);
    });
}

void TokenService::reload(TokenSettings settings) {
    settings.issuer = m_settings->issuer;
    m_issuers->reload_jwks(settings.jwks);
    m_settings.swap(std::move(settings));
}

void TokenService::load_revocations() {
    const auto now = m_clock.now();
    const auto rows = m_store.transaction(
        [&](Connection& c) {
            return c.query("SELECT id, expires_at FROM token_revocations WHERE expires_at > $1",
                           {now});
        },
        store::TxMode::read);
    std::unique_lock lock(m_revoked_mutex);
    for (const auto& r : rows) {
        m_revoked[r.get_text(0)] = r.get_int(1);
    }
}

json TokenService::mint(Connection* c, const RingKey& signer, const std::string& sub,
                        const json& extra, const std::vector<std::string>& audience,
                        std::int64_t ttl_ms, const std::optional<std::string>& family) {
    const auto now = m_clock.now();
    json claims = extra;
    claims["iss"] = m_settings->issuer;
    claims["sub"] = sub;
    if (audience.size() == 1) {
        claims["aud"] = audience.front();
    } else if (!audience.empty()) {
        claims["aud"] = audience;
    }
    claims["iat"] = now / 1000;
    claims["exp"] = (now + ttl_ms) / 1000;
    claims["jti"] = crypto::random_base62(22);
    claims["token_use"] = "access";
    if (family) {
        claims["fam"] = *family;
    }
    const json header{{"typ", "JWT"}, {"kid", signer.kid}};
    json out{{"access_token", encode_jwt(header, claims, *signer.key)},
             {"token_type", "bearer"},
             {"expires_in", ttl_ms / 1000}};
    if (family) {
        json rclaims{{"iss", m_settings->issuer},
                     {"sub", sub},
                     {"iat", now / 1000},
                     {"exp", (now + m_settings->refresh_ttl_ms) / 1000},
                     {"jti", crypto::random_base62(22)},
                     {"token_use", "refresh"},
                     {"fam", *family}};
        // What the next access token will carry, so a refresh reissues the same grant.
        const json grant{{"claims", extra},
                         {"aud", audience},
                         {"ttl_ms", ttl_ms},
                         {"alg", to_string(signer.key->alg())}};
        c->exec(
            "INSERT INTO refresh_tokens (jti, family, sub, claims, issued_at, expires_at) "
            "VALUES ($1, $2, $3, $4, $5, $6)",
            {rclaims["jti"].get<std::string>(), *family, sub, grant.dump(), now,
             now + m_settings->refresh_ttl_ms});
        out["refresh_token"] = encode_jwt(header, rclaims, *signer.key);
        out["refresh_expires_in"] = m_settings->refresh_ttl_ms / 1000;
    }
    return out;
}

json TokenService::issue(const IssueRequest& r, std::string_view actor) {
    if (r.sub.empty() || r.sub.size() > 256) {
        throw Error(ErrorCode::invalid_argument, "sub: must be 1 to 256 characters",
                    {{"param", "sub"}});
    }
    if (!r.claims.is_object()) {
        throw Error(ErrorCode::invalid_argument, "claims must be a JSON object");
    }
    for (const auto& [name, value] : r.claims.items()) {
        if (k_reserved.count(name) != 0) {
            throw Error(ErrorCode::invalid_argument,
                        "claim \"" + name + "\" is set by pb and cannot be given",
                        {{"claim", name}});
        }
    }
    const auto ttl = r.ttl_ms.value_or(m_settings->access_ttl_ms);
    if (ttl < 1000) {
        throw Error(ErrorCode::invalid_argument, "ttl: must be at least 1s", {{"param", "ttl"}});
    }
    const auto signer = m_ring.signer(r.alg.value_or(m_settings->default_alg), r.kid, actor);
    if (!r.refresh) {
        return mint(nullptr, *signer, r.sub, r.claims, r.audience, ttl, std::nullopt);
    }
    return m_store.transaction([&](Connection& c) {
        return mint(&c, *signer, r.sub, r.claims, r.audience, ttl, crypto::random_base62(22));
    });
}

bool TokenService::is_revoked(const ClaimSlices& claims, UnixMillis now) {
    m_follower.catch_up();
    std::shared_lock lock(m_revoked_mutex);
    if (m_revoked.empty()) {
        return false;
    }
    const auto hit = [&](std::string_view id) {
        auto it = m_revoked.find(id);
        return it != m_revoked.end() && it->second > now - m_settings->leeway_ms;
    };
    if (claims.jti && claims.jti->kind == JsonKind::string) {
        const auto raw = claims.jti->text.substr(1, claims.jti->text.size() - 2);
        if (raw.find('\\') == std::string_view::npos ? hit(raw)
                                                     : hit(json_string_value(*claims.jti))) {
            return true;
        }
    }
    return claims.fam && claims.fam->kind == JsonKind::string &&
           hit(family_id(json_string_value(*claims.fam)));
}

TokenCheck TokenService::verify(std::string_view token, const VerifyOptions& options) {
    DecodedJwt jwt;
    if (auto refusal = decode_jwt(token, m_settings->max_size, jwt)) {
        return refuse(refusal->reason, refusal->message);
    }
    const auto alg = alg_from_string(jwt.alg);
    if (!alg) {
        return refuse(Reason::unsupported_alg, "algorithm \"" + jwt.alg + "\" is not accepted");
    }
    const ClaimSlices& claims = jwt.registered;
    // "iss" picks the keys: pb's own vouch for pb's issuer only, a trusted
    // issuer's for its own iss only, and no key for any other.
    if (!claims.iss || claims.iss->kind != JsonKind::string) {
        return refuse(Reason::wrong_issuer, "the token names no issuer (iss)");
    }
    std::shared_ptr<const TrustedIssuer> trusted;
    if (json_string_is(*claims.iss, m_settings->issuer)) {
        if (auto refusal = check_own_signature(jwt, *alg)) {
            return refuse(refusal->reason, refusal->message);
        }
    } else {
        const auto iss = json_string_value(*claims.iss);
        trusted = m_issuers->by_iss(iss);
        if (!trusted) {
            return refuse(Reason::wrong_issuer, "issuer " + shown_quoted(iss) + " is not trusted");
        }
        const auto keys = m_issuers->keys_for(*trusted, jwt.kid, *alg);
        bool verified = false;
        bool other_alg = false;
        for (const auto& key : keys) {
            // The key fixes the algorithm: a token cannot choose how it is checked.
            if (key->alg() != *alg) {
                other_alg = true;
            } else if (key->verify(jwt.signing_input, jwt.signature)) {
                verified = true;
                break;
            }
        }
        if (!verified) {
            if (keys.empty()) {
                return refuse(Reason::unknown_key,
                              "issuer \"" + trusted->name + "\" has no " +
                                  (jwt.kid ? "key " + shown_quoted(*jwt.kid) : jwt.alg + " key"));
            }
            return refuse(other_alg ? Reason::unsupported_alg : Reason::bad_signature,
                          other_alg
                              ? "the key of issuer \"" + trusted->name + "\" is not for " + jwt.alg
                              : "the signature does not match");
        }
    }
    ClaimRules rules;
    rules.now = options.at.value_or(m_clock.now());
    rules.leeway_ms = m_settings->leeway_ms;
    rules.audience = options.audience;
    rules.issuer = options.issuer;
    if (auto refusal = check_claims(claims, rules)) {
        return refuse(refusal->reason, refusal->message);
    }
    // An issuer with an audience vouches only for tokens meant for it.
    if (trusted && trusted->audience && trusted->audience != options.audience) {
        rules.audience = trusted->audience;
        if (auto refusal = check_claims(claims, rules)) {
            return refuse(refusal->reason, refusal->message);
        }
    }
    const std::string_view wanted = options.use == TokenUse::access ? "access" : "refresh";
    const bool use_ok =
        claims.token_use ? json_string_is(*claims.token_use, wanted) : wanted == "access";
    if (!use_ok) {
        const auto use = claims.token_use && claims.token_use->kind == JsonKind::string
                             ? json_string_value(*claims.token_use)
                             : std::string(claims.token_use->text);
        return refuse(Reason::wrong_token_type, "this is a " + use + " token");
    }
    if (is_revoked(claims, rules.now)) {
        return refuse(Reason::revoked, "the token was revoked");
    }
    TokenCheck ok;
    ok.valid = true;
    ok.header_text = std::move(jwt.header_text);
    ok.claims_text = std::move(jwt.claims_text);
    ok.issuer = std::move(trusted);
    return ok;
}

std::optional<Refusal> TokenService::check_own_signature(const DecodedJwt& jwt, Alg alg) {
    if (jwt.kid) {
        const auto key = m_ring.find(*jwt.kid);
        if (!key) {
            return Refusal{Reason::unknown_key, "no trusted key " + shown_quoted(*jwt.kid)};
        }
        // The key fixes the algorithm: a token cannot choose how it is checked.
        if (key->key->alg() != alg) {
            return Refusal{Reason::unsupported_alg, "key " + key->kid + " is for " +
                                                        std::string(to_string(key->key->alg()))};
        }
        if (!key->key->verify(jwt.signing_input, jwt.signature)) {
            return Refusal{Reason::bad_signature, "the signature does not match"};
        }
        return std::nullopt;
    }
    // No kid: only unambiguous when pb has keys of this alg alone.
    const auto candidates = m_ring.for_alg(alg);
    for (const auto& candidate : candidates) {
        if (candidate->key->verify(jwt.signing_input, jwt.signature)) {
            return std::nullopt;
        }
    }
    return Refusal{candidates.empty() ? Reason::unknown_key : Reason::bad_signature,
                   "no trusted " + jwt.alg + " key matches the signature"};
}

json TokenService::refresh(std::string_view refresh_token) {
    const auto check = verify(refresh_token, {.use = TokenUse::refresh});
    if (!check.valid) {
        throw Error(ErrorCode::unauthenticated, "refresh token refused: " + check.message,
                    {{"reason", to_string(check.reason)}});
    }
    const auto jti = check.claims().value("jti", std::string());
    const auto family = check.claims().value("fam", std::string());
    const auto now = m_clock.now();
    const auto rows = m_store.transaction(
        [&](Connection& c) {
            return c.query("SELECT family, sub, claims FROM refresh_tokens WHERE jti = $1", {jti});
        },
        store::TxMode::read);
    if (rows.empty() || rows.front().get_text(0) != family) {
        throw Error(ErrorCode::unauthenticated, "refresh token refused: unknown token",
                    {{"reason", "revoked"}});
    }
    const auto sub = rows.front().get_text(1);
    const auto grant =
        parse_json(rows.front().get_text(2), "stored refresh grant", {k_max_stored_json_depth});
    const auto signer = m_ring.signer(
        alg_from_string(grant.value("alg", std::string())).value_or(m_settings->default_alg),
        std::nullopt, "refresh");
    bool reused = false;
    auto out = m_store.transaction([&](Connection& c) -> json {
        // Spending is the atomic step: of two concurrent uses exactly one wins.
        if (c.exec("UPDATE refresh_tokens SET spent_at = $2 WHERE jti = $1 AND spent_at IS NULL",
                   {jti, now}) == 0) {
            // A spent token came back: someone holds a copy. End the whole family.
            add_revocation(c, family_id(family), "family", now + m_settings->refresh_ttl_ms,
                           "refresh-reuse", "refresh token reused");
            reused = true;
            return json();
        }
        return mint(&c, *signer, sub, grant.value("claims", json::object()),
                    grant.value("aud", std::vector<std::string>()),
                    grant.value("ttl_ms", m_settings->access_ttl_ms), family);
    });
    if (reused) {
        throw Error(ErrorCode::unauthenticated,
                    "refresh token was already used: its whole family is revoked",
                    {{"reason", "revoked"}});
    }
    return out;
}

void TokenService::add_revocation(Connection& c, const std::string& id, std::string_view kind,
                                  UnixMillis expires_at, std::string_view actor,
                                  std::string_view reason) {
    const auto now = m_clock.now();
    c.exec("DELETE FROM token_revocations WHERE expires_at < $1", {now - m_settings->leeway_ms});
    const auto n = c.exec(
        "INSERT INTO token_revocations (id, kind, expires_at, revoked_at, revoked_by, reason) "
        "VALUES "
        "($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING",
        {id, std::string(kind), expires_at, now, std::string(actor), std::string(reason)});
    if (n > 0) {
        events::append(c, k_revocation_topic, "token.revoked",
                       {{"id", id}, {"expires_at", format_rfc3339(expires_at)}}, now);
    }
}

json TokenService::revoke(std::optional<std::string_view> token, std::optional<std::string> jti,
                          std::optional<UnixMillis> until, std::string_view actor) {
    const auto now = m_clock.now();
    if (token.has_value() == jti.has_value()) {
        throw Error(ErrorCode::invalid_argument, "give either a token or --jti");
    }
    std::string id;
    UnixMillis expires_at = until.value_or(now + m_settings->refresh_ttl_ms);
    if (token) {
        DecodedJwt jwt;
        if (auto refusal = decode_jwt(*token, m_settings->max_size, jwt)) {
            throw Error(ErrorCode::invalid_argument, "token: " + refusal->message);
        }
        // Only tokens a trusted key signed can be revoked by showing them.
        const auto alg = alg_from_string(jwt.alg);
        const auto key = jwt.kid ? m_ring.find(*jwt.kid) : nullptr;
        if (!alg || !key || key->key->alg() != *alg ||
            !key->key->verify(jwt.signing_input, jwt.signature)) {
            throw Error(ErrorCode::invalid_argument, "token: not signed by a trusted key");
        }
        const ClaimSlices& claims = jwt.registered;
        if (!claims.jti || claims.jti->kind != JsonKind::string) {
            throw Error(ErrorCode::invalid_argument, "token: has no jti to revoke");
        }
        id = json_string_value(*claims.jti);
        if (auto exp = claims.exp ? json_number_value(*claims.exp) : std::nullopt) {
            expires_at = static_cast<UnixMillis>(*exp * 1000);
        }
    } else {
        id = *jti;
        if (id.empty() || id.size() > 256) {
            throw Error(ErrorCode::invalid_argument, "jti: must be 1 to 256 characters");
        }
    }
    m_store.transaction(
        [&](Connection& c) { add_revocation(c, id, "jti", expires_at, actor, "revoked"); });
    {
        std::unique_lock lock(m_revoked_mutex);
        m_revoked[id] = expires_at;
    }
    return {{"jti", id}, {"revoked", true}, {"until", format_rfc3339(expires_at)}};
}

json TokenService::inspect(std::string_view token) const {
    DecodedJwt jwt;
    if (auto refusal = decode_jwt(token, m_settings->max_size, jwt)) {
        throw Error(ErrorCode::invalid_argument, "token: " + refusal->message,
                    {{"reason", to_string(refusal->reason)}});
    }
    return {{"verified", false},
            {"warning", "UNVERIFIED: decoded only; use tokens verify to trust it"},
            {"header", jwt.header()},
            {"claims", jwt.claims()}};
}

}  // namespace pb::tokens
