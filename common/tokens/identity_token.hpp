#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "common/core/clock.hpp"
#include "common/core/config.hpp"
#include "common/ops/op.hpp"
#include "common/tokens/service.hpp"

namespace pb::tokens {

// The response header of GET /v1/auth that carries the identity token, and
// the value of the token's "token_use" claim that marks it as one.
inline constexpr std::string_view k_identity_header = "X-PB-Identity-Token";
inline constexpr std::string_view k_identity_use = "identity";

// gate.identity_token.*: what the gate's identity tokens say and how long they last.
struct IdentityTokenSettings {
    bool enabled = false;
    std::string audience;  // the upstreams' audience; never pbd's own
    std::int64_t lifetime_ms =
        5 * 60 * 1000;                  // whole seconds, k_min_lifetime_ms..k_max_lifetime_ms
    Alg alg = Alg::ES256;               // asymmetric: upstreams verify from pb's JWKS
    std::size_t cache_entries = 10000;  // callers whose token is kept; 0: sign every time
};

inline constexpr std::int64_t k_identity_min_lifetime_ms = 10 * 1000;
inline constexpr std::int64_t k_identity_max_lifetime_ms = 60 * 60 * 1000;
inline constexpr std::int64_t k_identity_max_cache_entries = 1'000'000;
// How often a thread asks the key ring which key signs (a retired key's
// tokens still verify for as long as an upstream caches pb's JWKS: minutes).
inline constexpr std::int64_t k_signer_check_ms = 1000;

// Reads and checks gate.identity_token.* (and tokens.daemon_audience, which
// the audience must not be). Error(invalid_argument) naming the key: when
// enabled without an audience or with pbd's own, a lifetime outside 10s..1h
// or not whole seconds, an HMAC or unknown algorithm (its key is never
// published), a cache size outside 0..1,000,000. Disabled: only the types.
IdentityTokenSettings identity_token_settings_from_config(const Config& config);

// Mints the gate's identity tokens: a short-lived JWT signed by pb's key ring
// that tells an upstream who the caller is (sub, owner, key_id, permissions),
// for one audience, verifiable from pb's JWKS (Ory Oathkeeper's id_token
// mutator). Its "token_use" is "identity", so TokenService::verify never takes
// it for an access token: pbd refuses it as a credential everywhere.
//
// A caller's token is kept and answered again until a quarter of its lifetime
// is left or the ring's signer for the alg changes (a rotation that took
// effect, a retirement; noticed within k_signer_check_ms), so the gate signs
// about once per caller per three-quarter lifetime. At most settings.cache_entries tokens are kept,
// in shards with their own locks; a full shard drops an entry to make room. Thread-safe.
class IdentityTokens {
  public:
    // `tokens` (its ring and issuer) and `clock` must outlive this.
    IdentityTokens(TokenService& tokens, const Clock& clock, IdentityTokenSettings settings);

    // The identity token of `caller` (a verified credential's). Errors as
    // KeyRing::signer (a store failing while the first key is made: unavailable).
    std::string token_for(const ops::Caller& caller);

    const IdentityTokenSettings& settings() const { return m_settings; }
    // Tokens currently kept (for tests and metrics).
    std::size_t cached() const;

  private:
    struct Entry {
        std::string token;
        std::string kid;
        UnixMillis renew_at = 0;  // a quarter of the lifetime before exp
    };
    struct Shard {
        mutable std::shared_mutex mutex;
        std::unordered_map<std::string, Entry> entries;
    };
    static constexpr std::size_t k_shards = 16;

    std::string mint(const ops::Caller& caller, const RingKey& signer, UnixMillis now) const;

    TokenService& m_tokens;
    const Clock& m_clock;
    IdentityTokenSettings m_settings;
    std::size_t m_per_shard = 0;
    std::array<Shard, k_shards> m_shards;
};

}  // namespace pb::tokens
