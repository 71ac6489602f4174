#include "common/tokens/identity_token.hpp"

#include <functional>
#include <mutex>

#include "common/core/crypto.hpp"
#include "common/core/error.hpp"

namespace pb::tokens {
namespace {

using nlohmann::json;

Error bad_setting(std::string_view key, const std::string& why) {
    return Error(ErrorCode::invalid_argument, std::string(key) + ": " + why,
                 {{"key", std::string(key)}});
}

// One caller as the cache knows it: everything its token says that can
// differ between two credentials (the audience and issuer are the process's).
std::string cache_key(const ops::Caller& caller) {
    constexpr char k_sep = '\x1f';  // never in an id, an owner or a permission
    std::string key;
    key.reserve(caller.actor.size() + caller.subject.size() + caller.key_id.size() + 64);
    key += caller.actor;
    key += k_sep;
    key += caller.subject;
    key += k_sep;
    key += caller.key_id;
    for (const auto& p : caller.permissions) {
        key += k_sep;
        key += p;
    }
    return key;
}

}  // namespace

IdentityTokenSettings identity_token_settings_from_config(const Config& config) {
    IdentityTokenSettings s;
    s.enabled = config.get_bool("gate.identity_token.enabled");
    s.audience = config.get("gate.identity_token.audience");
    s.lifetime_ms = config.get_duration_ms("gate.identity_token.lifetime");
    const auto& alg_name = config.get("gate.identity_token.alg");
    const auto entries = config.get_int("gate.identity_token.cache_entries");
    if (!s.enabled) {
        return s;
    }
    if (s.audience.empty()) {
        throw bad_setting("gate.identity_token.audience",
                          "required when gate.identity_token.enabled is true (the audience "
                          "upstreams check, so a token is good for them alone)");
    }
    if (s.audience == config.get("tokens.daemon_audience")) {
        throw bad_setting("gate.identity_token.audience",
                          "must not be tokens.daemon_audience (\"" + s.audience +
                              "\"): an identity token is never a credential for pbd");
    }
    if (s.lifetime_ms < k_identity_min_lifetime_ms || s.lifetime_ms > k_identity_max_lifetime_ms ||
        s.lifetime_ms % 1000 != 0) {
        throw bad_setting("gate.identity_token.lifetime",
                          "must be whole seconds from 10s to 1h, got " +
                              config.get("gate.identity_token.lifetime"));
    }
    const auto alg = alg_from_string(alg_name);
    if (!alg || is_hmac(*alg)) {
        throw bad_setting("gate.identity_token.alg",
                          "must be an asymmetric algorithm (ES256, ES384, EdDSA, RS256, RS384, "
                          "RS512, PS256) whose public key pb's JWKS publishes, got \"" +
                              alg_name + "\"");
    }
    s.alg = *alg;
    if (entries < 0 || entries > k_identity_max_cache_entries) {
        throw bad_setting("gate.identity_token.cache_entries",
                          "must be from 0 to 1000000, got " + std::to_string(entries));
    }
    s.cache_entries = static_cast<std::size_t>(entries);
    return s;
}

IdentityTokens::IdentityTokens(TokenService& tokens, const Clock& clock,
                               IdentityTokenSettings settings)
    : m_tokens(tokens),
      m_clock(clock),
      m_settings(std::move(settings)),
      m_per_shard((m_settings.cache_entries + k_shards - 1) / k_shards) {}

std::string IdentityTokens::mint(const ops::Caller& caller, const RingKey& signer,
                                 UnixMillis now) const {
    const auto iat = now / 1000;
    json claims{{"iss", m_tokens.settings().issuer},
                {"sub", caller.subject},
                {"aud", m_settings.audience},
                {"iat", iat},
                {"nbf", iat},
                {"exp", iat + m_settings.lifetime_ms / 1000},
                {"jti", crypto::random_base62(22)},
                {"token_use", k_identity_use},
                {"owner", caller.subject},
                {"permissions", caller.permissions}};
    if (!caller.key_id.empty()) {
        claims["key_id"] = caller.key_id;
    }
    return encode_jwt({{"typ", "JWT"}, {"kid", signer.kid}}, claims, *signer.key);
}

std::string IdentityTokens::token_for(const ops::Caller& caller) {
    const auto now = m_clock.now();
    // Which key signs, as this thread last asked the ring: asked again at
    // most once a second, so a cache hit touches no lock but its shard's.
    struct SignerSeen {
        const IdentityTokens* owner = nullptr;
        UnixMillis asked_at = 0;
        std::string kid;
    };
    thread_local SignerSeen seen;
    std::shared_ptr<const RingKey> signer;
    const auto ask_ring = [&] {
        signer = m_tokens.ring().signer(m_settings.alg, std::nullopt, "gate");
        seen = {this, now, signer->kid};
    };
    if (seen.owner != this || now - seen.asked_at >= k_signer_check_ms || now < seen.asked_at) {
        ask_ring();
    }
    if (m_per_shard == 0) {
        if (!signer) {
            ask_ring();
        }
        return mint(caller, *signer, now);
    }
    auto key = cache_key(caller);
    auto& shard = m_shards[std::hash<std::string>{}(key) % k_shards];
    {
        std::shared_lock lock(shard.mutex);
        const auto it = shard.entries.find(key);
        // A token signed by another key than the signer now is made again
        // (the rotation took effect, or its key was retired).
        if (it != shard.entries.end() && now < it->second.renew_at && it->second.kid == seen.kid) {
            return it->second.token;
        }
    }
    if (!signer) {
        ask_ring();
    }
    // Two requests of one caller may both sign here; the later one's token stays.
    Entry fresh{mint(caller, *signer, now), signer->kid,
                (now / 1000) * 1000 + m_settings.lifetime_ms * 3 / 4};
    std::unique_lock lock(shard.mutex);
    auto it = shard.entries.find(key);
    if (it != shard.entries.end()) {
        it->second = fresh;
    } else {
        if (shard.entries.size() >= m_per_shard) {
            shard.entries.erase(shard.entries.begin());  // full: any one makes room
        }
        shard.entries.emplace(std::move(key), fresh);
    }
    return std::move(fresh.token);
}

std::size_t IdentityTokens::cached() const {
    std::size_t n = 0;
    for (const auto& shard : m_shards) {
        std::shared_lock lock(shard.mutex);
        n += shard.entries.size();
    }
    return n;
}

}  // namespace pb::tokens
