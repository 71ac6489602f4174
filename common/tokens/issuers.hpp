#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/core/clock.hpp"
#include "common/core/secret_box.hpp"
#include "common/core/swappable.hpp"
#include "common/events/follower.hpp"
#include "common/store/store.hpp"
#include "common/tokens/jwk_set.hpp"
#include "common/tokens/remote_jwks.hpp"

namespace pb::tokens {

// Another party whose tokens pb accepts (as Oathkeeper's jwt authenticator and
// Envoy's jwt_authn do): its keys verify only tokens whose "iss" is `issuer`,
// "aud" must name `audience` when set, and the permissions such a token
// claims count only within `grants`.
struct TrustedIssuer {
    std::string name;
    // Unset: a key imported before issuers existed, which verifies nothing
    // until the operator pins its issuer.
    std::optional<std::string> issuer;
    std::optional<std::string> audience;
    std::vector<std::string> grants;
    std::optional<std::string> jwks_url;
    bool allow_http = false;
    std::vector<IssuerKey> static_keys;  // from the operator's JWK or JWKS
    std::shared_ptr<RemoteJwks> remote;  // with jwks_url
    UnixMillis created_at = 0;
    UnixMillis updated_at = 0;
    std::string created_by;

    bool enabled() const { return issuer.has_value(); }
    // The public description (never an HMAC secret); `detail` adds the keys and
    // the JWKS URL's fetch status.
    nlohmann::json to_json(bool detail) const;
    // The JSON Schema of to_json(detail) ("TrustedIssuer", "TrustedIssuerDetail").
    static nlohmann::json schema(bool detail);
};

// What an operator sets; on update an unset field is left as it is, and an
// empty audience clears it. One of jwks_url and jwk replaces the other.
struct IssuerSpec {
    std::optional<std::string> issuer;
    std::optional<std::string> audience;
    std::optional<std::vector<std::string>> grants;
    std::optional<std::string> jwks_url;
    std::optional<bool> allow_http;
    std::optional<nlohmann::json> jwk;  // a JWK or JWKS
};

// The trusted issuers, kept in the store (table token_issuers), cached in
// memory and reloaded when any process changes them (outbox topic
// tokens/issuers). Thread-safe.
class IssuerRegistry {
  public:
    // `own_issuer` is pb's tokens.issuer, which no trusted issuer may claim;
    // `open_box` opens the master key that seals HMAC secrets of issuers.
    IssuerRegistry(store::Store& store, const Clock& clock, events::Follower& follower,
                   std::function<const SecretBox&()> open_box, std::string own_issuer,
                   JwksSettings jwks);

    std::vector<std::shared_ptr<const TrustedIssuer>> list();
    // Error(not_found).
    std::shared_ptr<const TrustedIssuer> get(std::string_view name);
    // The enabled issuer whose "iss" is `iss`, or nullptr.
    std::shared_ptr<const TrustedIssuer> by_iss(std::string_view iss);
    // The names of issuers imported before issuers existed and not pinned yet.
    std::vector<std::string> disabled();

    // Error(invalid_argument) for a bad name, issuer, URL, key or grant (and
    // when neither or both of jwks_url and jwk are given), Error(conflict) when
    // the name or the issuer is taken. Nothing is written on error.
    std::shared_ptr<const TrustedIssuer> add(std::string_view name, const IssuerSpec& spec,
                                             std::string_view actor);
    // Error(not_found), and add's errors for the resulting issuer.
    std::shared_ptr<const TrustedIssuer> update(std::string_view name, const IssuerSpec& spec,
                                                std::string_view actor);
    // Error(not_found).
    void remove(std::string_view name, std::string_view actor);

    // The keys that may check a token of `issuer`: those with its kid, or when
    // it names none, those of its algorithm. A kid the JWKS URL lacks makes
    // pb refetch it (at most once per tokens.jwks_min_refresh).
    // Follows JWKS URLs under new tokens.jwks_* settings from now on (every
    // issuer's, the held keys kept).
    void reload_jwks(JwksSettings jwks);

    std::vector<std::shared_ptr<const JoseKey>> keys_for(const TrustedIssuer& issuer,
                                                         const std::optional<std::string>& kid,
                                                         Alg alg);

  private:
    using Map = std::map<std::string, std::shared_ptr<const TrustedIssuer>, std::less<>>;
    std::shared_ptr<const Map> snapshot();
    void reload();
    // Checks `issuer` as it would be stored; Error(invalid_argument/conflict).
    void check(const TrustedIssuer& issuer, const Map& others);
    // The two key columns of `issuer` for the operator's document `doc` (none
    // without one): the public JWKS, and the whole document sealed under the
    // master key when it holds a shared secret.
    struct StoredKeys {
        std::optional<std::string> pub;
        std::optional<std::string> sealed;
    };
    StoredKeys stored_keys(const TrustedIssuer& issuer, const std::optional<nlohmann::json>& doc);
    std::shared_ptr<RemoteJwks> remote_for(const std::optional<std::string>& url, bool allow_http,
                                           const Map* previous, const std::string& name);

    store::Store& m_store;
    const Clock& m_clock;
    events::Follower& m_follower;
    std::function<const SecretBox&()> m_open_box;
    const std::string m_own_issuer;
    Swappable<JwksSettings> m_jwks;  // swapped under m_mutex

    std::shared_mutex m_mutex;
    std::shared_ptr<const Map> m_map;
    std::shared_ptr<const Map> m_last;  // the previous snapshot: fetched keys survive a reload
};

}  // namespace pb::tokens
