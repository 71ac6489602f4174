#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

typedef struct evp_pkey_st EVP_PKEY;

namespace pb::tokens {

// The JWS algorithms pb signs and verifies (RFC 7518, RFC 8037).
enum class Alg { HS256, HS384, HS512, RS256, RS384, RS512, PS256, ES256, ES384, EdDSA };

std::optional<Alg> alg_from_string(std::string_view name);
std::string_view to_string(Alg alg);
bool is_hmac(Alg alg);
// Every algorithm name, for help and validation.
const std::vector<std::string>& alg_names();

// Key material bound to one algorithm: the algorithm is a property of the key,
// never taken from a token (RFC 8725 §3.1), so HS/RS confusion cannot happen.
// Immutable and thread-safe after construction.
class JoseKey {
  public:
    // A fresh key: 256-bit+ HMAC secret, RSA-2048, P-256/P-384 or Ed25519.
    static JoseKey generate(Alg alg);
    // An HMAC key from a shared secret; Error(invalid_argument) when shorter
    // than the hash output (RFC 7518 §3.2).
    static JoseKey from_secret(Alg alg, std::string secret);
    // A JWK (RFC 7517): kty oct, RSA, EC (P-256, P-384) or OKP (Ed25519), public
    // or private. `alg` comes from the JWK's "alg" when absent; the key type must
    // fit it. Error(invalid_argument) otherwise.
    static JoseKey from_jwk(const nlohmann::json& jwk, std::optional<Alg> alg = std::nullopt);
    // Round trip of private_material() for storage.
    static JoseKey from_private_material(Alg alg, std::string_view material);

    Alg alg() const { return m_alg; }
    bool can_sign() const;
    // The public JWK with kid, alg and use; Error(invalid_argument) for HMAC.
    nlohmann::json public_jwk(std::string_view kid) const;
    // Secret bytes for storage (PKCS#8 DER or the HMAC secret); seal before storing.
    std::string private_material() const;

    // The JWS signature of `signing_input` (raw bytes, ECDSA as r||s).
    std::string sign(std::string_view signing_input) const;
    // True when `signature` is this key's signature of `signing_input`.
    bool verify(std::string_view signing_input, std::string_view signature) const;

  private:
    JoseKey(Alg alg, std::shared_ptr<EVP_PKEY> pkey, std::string secret);

    Alg m_alg;
    std::shared_ptr<EVP_PKEY> m_pkey;  // asymmetric keys
    std::string m_secret;              // HMAC keys
    std::uint64_t m_key_id = 0;        // identifies m_secret to the per-thread HMAC context
    bool m_private = false;
};

}  // namespace pb::tokens
