#pragma once

#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/core/clock.hpp"
#include "common/core/swappable.hpp"
#include "common/events/follower.hpp"
#include "common/store/store.hpp"
#include "common/tokens/issuers.hpp"
#include "common/tokens/jwt.hpp"
#include "common/tokens/key_ring.hpp"
#include "common/tokens/remote_jwks.hpp"

namespace pb::tokens {

struct TokenSettings {
    std::string issuer = "pb";
    std::int64_t access_ttl_ms = 15 * 60 * 1000;
    std::int64_t refresh_ttl_ms = 30LL * 86400 * 1000;
    std::int64_t leeway_ms = 30 * 1000;
    Alg default_alg = Alg::ES256;
    std::size_t max_size = 8192;
    // The audience that makes a token pb issues a credential for pbd itself
    // (a token with no aud is too); tokens for any other audience are not.
    std::string daemon_audience = "pbd";
    JwksSettings jwks;
};

struct IssueRequest {
    std::string sub;
    nlohmann::json claims = nlohmann::json::object();  // extra claims
    std::vector<std::string> audience;
    std::optional<std::int64_t> ttl_ms;
    bool refresh = false;
    std::optional<Alg> alg;
    std::optional<std::string> kid;
};

enum class TokenUse { access, refresh };

struct VerifyOptions {
    std::optional<std::string> audience;
    std::optional<std::string> issuer;
    std::optional<UnixMillis> at;  // check as of this instant instead of now
    TokenUse use = TokenUse::access;
};

// The outcome of verify: a value, since "no" is a normal answer.
struct TokenCheck {
    bool valid = false;
    Reason reason = Reason::malformed;
    std::string message;
    // The verified header and claims as JSON text (strict, checked). The trees
    // below are built on first use: most callers read a claim or two, or none,
    // and building them costs more than the signature check of an HS256 token.
    std::string header_text;
    std::string claims_text;
    // The trusted issuer whose key verified the token; null for pb's own keys.
    std::shared_ptr<const TrustedIssuer> issuer;

    const nlohmann::json& header() const;
    const nlohmann::json& claims() const;
    nlohmann::json to_json() const;
    // The JSON Schema of to_json() ("TokenVerdict").
    static nlohmann::json schema();

  private:
    mutable std::optional<nlohmann::json> m_header;  // a TokenCheck belongs to one thread
    mutable std::optional<nlohmann::json> m_claims;
};

// JWT issue, verify, refresh with rotation, revoke and inspect. A token is
// checked only with the keys of the issuer its "iss" names: pb's own keys for
// tokens.issuer, a trusted issuer's keys for that issuer's iss, and nothing
// for any other. Thread-safe.
class TokenService {
  public:
    TokenService(store::Store& store, const Clock& clock, events::Follower& follower, KeyRing& ring,
                 TokenSettings settings);

    // {"access_token","token_type":"bearer","expires_in",["refresh_token","refresh_expires_in"]}
    nlohmann::json issue(const IssueRequest& request, std::string_view actor);
    // The JSON Schema of issue()'s and refresh()'s answer ("IssuedTokens").
    static nlohmann::json issued_schema();
    TokenCheck verify(std::string_view token, const VerifyOptions& options);
    // Spends a refresh token and returns a new pair in the same family. A token
    // spent before revokes its whole family (theft detection):
    // Error(unauthenticated) either way when it does not refresh.
    nlohmann::json refresh(std::string_view refresh_token);
    // Blacklists a token (by its jti) until it would have expired; or a bare
    // jti until `until`. Idempotent.
    nlohmann::json revoke(std::optional<std::string_view> token, std::optional<std::string> jti,
                          std::optional<UnixMillis> until, std::string_view actor);
    // Header and claims without verifying anything.
    nlohmann::json inspect(std::string_view token) const;

    KeyRing& ring() { return m_ring; }
    IssuerRegistry& issuers() { return *m_issuers; }
    // The settings in force (a reference that stays valid after a reload).
    const TokenSettings& settings() const { return m_settings.get(); }
    // Applies new settings (lifetimes, leeway, sizes, the daemon audience,
    // the default algorithm, the JWKS schedule) from the next call on. The
    // issuer stays as built: trusted issuers are checked against it (a restart).
    void reload(TokenSettings settings);

  private:
    // Signs a new access token (and a refresh token in `family`, recorded
    // through `c`). The signer is resolved before any transaction opens: the
    // key ring may itself need the store.
    nlohmann::json mint(store::Connection* c, const RingKey& signer, const std::string& sub,
                        const nlohmann::json& extra, const std::vector<std::string>& audience,
                        std::int64_t ttl_ms, const std::optional<std::string>& family);
    // Checks a token claiming pb's issuer against pb's own keys.
    std::optional<Refusal> check_own_signature(const DecodedJwt& jwt, Alg alg);
    bool is_revoked(const ClaimSlices& claims, UnixMillis now);
    void load_revocations();
    void add_revocation(store::Connection& c, const std::string& id, std::string_view kind,
                        UnixMillis expires_at, std::string_view actor, std::string_view reason);

    store::Store& m_store;
    const Clock& m_clock;
    events::Follower& m_follower;
    KeyRing& m_ring;
    Swappable<TokenSettings> m_settings;
    std::unique_ptr<IssuerRegistry> m_issuers;

    std::shared_mutex m_revoked_mutex;
    // Looked up by string_view: a jti without escapes is checked without a copy.
    struct Hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };
    std::unordered_map<std::string, UnixMillis, Hash, std::equal_to<>>
        m_revoked;  // jti or "family:<id>" -> until
};

}  // namespace pb::tokens
