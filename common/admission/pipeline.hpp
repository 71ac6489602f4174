#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/admission/client_address.hpp"
#include "common/admission/credential.hpp"
#include "common/core/clock.hpp"
#include "common/core/error.hpp"
#include "common/core/swappable.hpp"
#include "common/keys/service.hpp"
#include "common/keys/verifier.hpp"
#include "common/limits/ahead.hpp"
#include "common/limits/ban.hpp"
#include "common/limits/ban_service.hpp"
#include "common/limits/limiter.hpp"
#include "common/limits/service.hpp"
#include "common/ops/op.hpp"
#include "common/tokens/service.hpp"

namespace pb::admission {

// The one admission of every request pb answers, in this order:
//   1. address: who the client is (the peer, or what a trusted proxy says);
//   2. bans: on that address (loopback keeps the health probe through them);
//   3. limits: that address's rate limit (not for an address on bans.allow);
//   4. credential: verified (key: malformed, unknown, revoked, expired; a JWT
//      by its service), then bans on the key, its owner or the token's
//      subject, then the key's own limit (or limits.key.rate), or
//      limits.user.rate for a token's subject;
//   5. permission: the op's (or /v1/auth's ?permission=);
// and only then one use of a key that counts them ("exhausted" when none is
// left). Nothing is spent on a refusal: no use, and no caller limit for a
// credential refused at 4 before its limit. Which steps apply is the door's.

// Which door a request comes through.
enum class Door {
    route,       // an op's HTTP route: 1–3; 4–5 when the op needs a permission; counted
    auth,        // GET /v1/auth: as route, limits as decisions (redis.on_failure), its
                 // ?permission=; the credential unless Anonymous::allowed and none sent
    ws_upgrade,  // a WebSocket upgrade: 1–3; a credential sent is verified and its bans
                 // checked, nothing counted (each op is)
    ws_check,    // a session's credential (`authenticate`, a refreshed token, a re-check
                 // after an event or at expiry): 4's verification and bans, nothing counted
    ws_op,       // an op on a socket: 4–5 and a use, as one HTTP request
    verify,      // keys.verify: an API key's text, as a verdict; its limits apply whoever asks
};

// Whether GET /v1/auth answers without a credential (?anonymous=1).
enum class Anonymous { refused, allowed };

// What the transport knows of one request. Views must outlive admit().
struct Facts {
    Door door = Door::route;
    std::string_view peer;  // "address:port", "[v6]:port" or an address; empty: unknown
    std::string_view
        forwarded_for;         // X-Forwarded-For, as received (read from trusted proxies only)
    std::string_view real_ip;  // X-Real-IP, likewise
    std::string_view authorization;  // Authorization ("Bearer <API key or JWT>")
    std::string_view api_key;        // X-API-Key
    // ws_check, ws_op, verify: the credential's text (a message, keys.verify's argument).
    std::string_view credential;
    // ws_check, ws_op: the client, resolved at the session's upgrade.
    std::optional<limits::IpAddress> client;
    // ws_check, ws_op: the permissions the session's credential held when it
    // was admitted; a credential whose permissions changed since is refused
    // at 4 (permissions_changed): the session must authenticate again.
    const std::vector<std::string>* held_permissions = nullptr;
    const ops::Op* op = nullptr;  // route, ws_op: the op asked for
    std::string_view permission;  // auth: the permission asked about
    Anonymous anonymous = Anonymous::refused;
    // The credential plan() verified for this request: not verified twice.
    const Credential* verified = nullptr;
    // verify: the named limits to spend besides the auto ones (keys.verify's
    // `limits`); nullptr: the auto ones at cost 1, as at every other door.
    const std::vector<keys::LimitCost>* limit_costs = nullptr;
};

// One named limit a verdict spent (or would have): the key's own, or its
// identity's when the key has none of that name.
struct NamedOutcome {
    std::string name;
    bool shadow = false;
    limits::LimitResult result;
};

// The step that refused: the address's ban or limit (2, 3), the credential
// (4: it does not verify, or its bans or limit refuse it), the permission
// (5), its last use spent meanwhile; or none.
enum class Step { ban, limit, credential, permission, use, admitted };

// The answer: a value, not an error ("no" is a normal answer).
struct Verdict {
    Step step = Step::admitted;  // admitted, or the step that refused
    // The refusal as the error a transport answers with: banned (403),
    // rate_limited (429), unauthenticated (401), permission_denied (403).
    std::optional<Error> refusal;
    // Its reason: banned, rate_limited, permission_denied, missing,
    // permissions_changed, a key's (malformed, unknown, revoked, expired,
    // exhausted) or a token's.
    std::string reason;
    std::optional<limits::IpAddress> client;
    // Once verified (also when a later step refused); at Door::verify its
    // caller is left empty: the key judged calls nothing.
    std::optional<Credential> credential;
    std::optional<std::int64_t> remaining;            // uses left after this one (counted keys)
    limits::LimitResult address_limit;                // limit 0 when none applied
    limits::LimitResult caller_limit;                 // likewise
    limits::Scope caller_scope = limits::Scope::key;  // whose limit caller_limit is: key or user
    std::shared_ptr<const limits::Ban> ban;           // why "banned"
    std::vector<NamedOutcome> named;                  // the named limits checked
    std::string refused_limit;                        // the named limit that refused

    bool admitted() const { return step == Step::admitted; }
    // keys.verify's answer: {"valid":true,id,owner,…,remaining} or
    // {"valid":false,"reason"} (+ "retry_after_ms" when rate_limited).
    nlohmann::json to_verify_json(UnixMillis now) const;
};

// What admit() will ask Redis, found ahead (see limits/ahead.hpp).
struct Plan {
    std::vector<limits::RedisCall> calls;
    std::optional<Credential> credential;  // verified on the way: pass it as Facts::verified
};

// The services the steps use; each must outlive the pipeline.
struct Parts {
    keys::KeyService& keys;
    tokens::TokenService& tokens;
    limits::BanService& bans;
    limits::LimitService& limits;
    const Clock& clock;
};

// The admission pipeline: one per process (Services owns it), shared by
// pbd's routes, /v1/auth, WebSocket sessions and keys.verify on every
// surface. Thread-safe.
class Pipeline final : public keys::Verifier {
  public:
    // `trusted_proxies` is server.trusted_proxies; Error(invalid_argument)
    // when a range does not parse.
    Pipeline(Parts parts, std::string_view trusted_proxies);

    // The entry point: steps 1–5 and the use, as far as `facts.door` asks.
    // Errors only when a step cannot be decided (a store or Redis failing
    // closed: unavailable; a token subject no limit can count: invalid_argument).
    Verdict admit(const Facts& facts) const;

    // Decides and spends nothing: the Redis checks admit(facts) will make
    // (none for a banned or allow-listed client, a credential that does not
    // verify or is banned, or without Redis), for a transport that makes them
    // ahead without blocking (limits::check_ahead). Doors route and auth only.
    Plan plan(const Facts& facts) const;

    // keys::Verifier: admit() at Door::verify, as keys.verify's answer.
    nlohmann::json verify(std::string_view key,
                          const std::vector<keys::LimitCost>* costs = nullptr) override;

    // Trusts these proxies from now on (a reload of server.trusted_proxies); a
    // request under way keeps the list it started with.
    void reload(TrustedProxies proxies) { m_proxies.swap(std::move(proxies)); }

  private:
    struct Recipe;
    static Recipe recipe_of(const Facts& facts);
    // The text of the credential, or empty; `needed` says whether the door asks for one.
    static std::string_view credential_text(const Facts& facts, bool& needed);

    bool address_steps(const Facts& facts, const Recipe& recipe, Verdict& v) const;
    bool credential_step(const Facts& facts, std::string_view text, Verdict& v) const;
    bool caller_steps(const Facts& facts, const Recipe& recipe, Verdict& v) const;
    bool named_step(const std::vector<limits::BucketCheck>& checks, const Recipe& recipe,
                    Verdict& v) const;
    bool permission_step(const Facts& facts, Verdict& v) const;
    bool use_step(const Recipe& recipe, Verdict& v) const;
    bool exempt(const Verdict& v) const;

    Parts m_parts;
    Swappable<TrustedProxies> m_proxies;
};

}  // namespace pb::admission
