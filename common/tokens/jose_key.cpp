#include "common/tokens/jose_key.hpp"

#include <array>
#include <atomic>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "common/core/base64.hpp"
#include "common/core/crypto.hpp"
#include "common/core/error.hpp"

namespace pb::tokens {
namespace {

using nlohmann::json;

struct AlgInfo {
    Alg alg;
    std::string_view name;
    const char* digest;  // nullptr for EdDSA
    std::size_t size;    // HMAC output, or ECDSA coordinate size
};

constexpr std::array k_algs{
    AlgInfo{Alg::HS256, "HS256", "SHA256", 32}, AlgInfo{Alg::HS384, "HS384", "SHA384", 48},
    AlgInfo{Alg::HS512, "HS512", "SHA512", 64}, AlgInfo{Alg::RS256, "RS256", "SHA256", 0},
    AlgInfo{Alg::RS384, "RS384", "SHA384", 0},  AlgInfo{Alg::RS512, "RS512", "SHA512", 0},
    AlgInfo{Alg::PS256, "PS256", "SHA256", 0},  AlgInfo{Alg::ES256, "ES256", "SHA256", 32},
    AlgInfo{Alg::ES384, "ES384", "SHA384", 48}, AlgInfo{Alg::EdDSA, "EdDSA", nullptr, 0},
};

const AlgInfo& info(Alg alg) {
    for (const auto& a : k_algs) {
        if (a.alg == alg) {
            return a;
        }
    }
    throw Error(ErrorCode::internal, "unknown algorithm");
}

bool is_rsa(Alg a) {
    return a == Alg::RS256 || a == Alg::RS384 || a == Alg::RS512 || a == Alg::PS256;
}
bool is_ec(Alg a) {
    return a == Alg::ES256 || a == Alg::ES384;
}

[[noreturn]] void bad_key(const std::string& why) {
    throw Error(ErrorCode::invalid_argument, "key: " + why);
}

std::shared_ptr<EVP_PKEY> own(EVP_PKEY* p) {
    if (p == nullptr) {
        throw Error(ErrorCode::internal, "OpenSSL key operation failed");
    }
    return std::shared_ptr<EVP_PKEY>(p, EVP_PKEY_free);
}

struct BnFree {
    void operator()(BIGNUM* b) const { BN_clear_free(b); }
};
using Bn = std::unique_ptr<BIGNUM, BnFree>;

Bn bn_from_b64(const json& jwk, const char* field, bool required) {
    if (!jwk.contains(field)) {
        if (required)
            bad_key(std::string("JWK lacks \"") + field + "\"");
        return nullptr;
    }
    const auto raw =
        jwk[field].is_string() ? base64url_decode(jwk[field].get<std::string>()) : std::nullopt;
    if (!raw || raw->empty()) {
        bad_key(std::string("JWK member \"") + field + "\" is not base64url");
    }
    return Bn(BN_bin2bn(reinterpret_cast<const unsigned char*>(raw->data()),
                        static_cast<int>(raw->size()), nullptr));
}

std::string field_bytes(const json& jwk, const char* field, std::size_t size) {
    const auto raw = jwk.contains(field) && jwk[field].is_string()
                         ? base64url_decode(jwk[field].get<std::string>())
                         : std::nullopt;
    if (!raw || raw->size() != size) {
        bad_key(std::string("JWK member \"") + field + "\" must be " + std::to_string(size) +
                " bytes of base64url");
    }
    return *raw;
}

// An EC coordinate: a big-endian integer of `size` octets (RFC 7518 6.2.1.2).
// Some issuers drop its leading zero octets (PyJWT before 2.7 does, for about
// one key in a hundred); the integer, and so the point, is the same, so it is
// padded back rather than refused. Longer, empty or not base64url: refused.
// The point is then checked to be on the curve by OpenSSL.
std::string coordinate_bytes(const json& jwk, const char* field, std::size_t size) {
    const auto raw = jwk.contains(field) && jwk[field].is_string()
                         ? base64url_decode(jwk[field].get<std::string>())
                         : std::nullopt;
    if (!raw || raw->empty() || raw->size() > size) {
        bad_key(std::string("JWK member \"") + field + "\" must be " + std::to_string(size) +
                " bytes of base64url");
    }
    return std::string(size - raw->size(), '\0') + *raw;
}

std::shared_ptr<EVP_PKEY> from_params(const char* type, OSSL_PARAM_BLD* bld, bool priv) {
    OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
    EVP_PKEY* pkey = nullptr;
    const bool ok =
        params != nullptr && ctx != nullptr && EVP_PKEY_fromdata_init(ctx) == 1 &&
        EVP_PKEY_fromdata(ctx, &pkey, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) == 1;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    if (!ok) {
        EVP_PKEY_free(pkey);
        bad_key("the JWK does not describe a valid key");
    }
    return own(pkey);
}

std::string b64_bn(const BIGNUM* bn, std::size_t pad) {
    std::string out(pad > 0 ? pad : static_cast<std::size_t>(BN_num_bytes(bn)), '\0');
    BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(out.size()));
    return base64url_encode(out);
}

Bn get_bn(EVP_PKEY* pkey, const char* name) {
    BIGNUM* bn = nullptr;
    if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1) {
        throw Error(ErrorCode::internal, std::string("cannot read key parameter ") + name);
    }
    return Bn(bn);
}

const EVP_MAC* hmac_mac() {
    static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (mac == nullptr) {
        throw Error(ErrorCode::internal, "OpenSSL has no HMAC");
    }
    return mac;
}

// `key_id` names the key material: a thread that MACs with the same key again
// re-initialises with the key already set (no digest fetch, no key schedule),
// which halves the cost of a short HMAC.
std::size_t hmac_into(Alg alg, std::uint64_t key_id, const std::string& key, std::string_view data,
                      unsigned char (&out)[EVP_MAX_MD_SIZE]) {
    struct MacCtx {
        EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(const_cast<EVP_MAC*>(hmac_mac()));
        std::uint64_t key_id = 0;
        ~MacCtx() { EVP_MAC_CTX_free(ctx); }
    };
    thread_local MacCtx c;
    const auto& a = info(alg);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(a.digest), 0),
        OSSL_PARAM_construct_end()};
    const bool same_key = c.key_id == key_id;
    c.key_id = 0;  // unknown until this init succeeds
    std::size_t len = 0;
    if (c.ctx == nullptr ||
        EVP_MAC_init(c.ctx, same_key ? nullptr : reinterpret_cast<const unsigned char*>(key.data()),
                     same_key ? 0 : key.size(), same_key ? nullptr : params) != 1 ||
        EVP_MAC_update(c.ctx, reinterpret_cast<const unsigned char*>(data.data()), data.size()) !=
            1 ||
        EVP_MAC_final(c.ctx, out, &len, sizeof out) != 1) {
        throw Error(ErrorCode::internal, "HMAC failed");
    }
    c.key_id = key_id;
    return len;
}

std::string hmac(Alg alg, std::uint64_t key_id, const std::string& key, std::string_view data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    const auto len = hmac_into(alg, key_id, key, data, out);
    return {reinterpret_cast<const char*>(out), len};
}

// Every HMAC key gets its own id (copies share it: same bytes).
std::uint64_t next_key_id() {
    static std::atomic<std::uint64_t> next{1};
    return next.fetch_add(1, std::memory_order_relaxed);
}

struct MdCtx {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~MdCtx() { EVP_MD_CTX_free(ctx); }
};

// Prepares a thread-local digest-sign/verify context for `alg`.
EVP_MD_CTX* init_ctx(Alg alg, EVP_PKEY* pkey, bool signing) {
    thread_local MdCtx c;
    EVP_MD_CTX* ctx = c.ctx;
    EVP_MD_CTX_reset(ctx);
    EVP_PKEY_CTX* pctx = nullptr;
    const char* md = info(alg).digest;
    const int rc = signing
                       ? EVP_DigestSignInit_ex(ctx, &pctx, md, nullptr, nullptr, pkey, nullptr)
                       : EVP_DigestVerifyInit_ex(ctx, &pctx, md, nullptr, nullptr, pkey, nullptr);
    if (rc != 1) {
        throw Error(ErrorCode::internal, "cannot start a signature operation");
    }
    if (alg == Alg::PS256 &&
        (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1)) {
        throw Error(ErrorCode::internal, "cannot set RSA-PSS parameters");
    }
    return ctx;
}

const EVP_MD* fetched_digest(Alg alg) {
    static const auto table = [] {
        std::array<EVP_MD*, k_algs.size()> t{};
        for (std::size_t i = 0; i < k_algs.size(); ++i) {
            t[i] = k_algs[i].digest == nullptr ? nullptr
                                               : EVP_MD_fetch(nullptr, k_algs[i].digest, nullptr);
        }
        return t;
    }();
    return table[static_cast<std::size_t>(alg)];
}

// A public-key verify context for `pkey`, made once per thread and key and then
// reused: EVP_PKEY_verify leaves it ready for the next call. Setting one up
// costs more than an RSA verify's public operation (~4 µs), and the digest-verify
// interface would duplicate it twice per call. Key ids are never reused, so a
// slot cannot name another key.
EVP_PKEY_CTX* pkey_verify_ctx(Alg alg, std::uint64_t key_id, EVP_PKEY* pkey) {
    struct Slots {
        std::array<std::pair<std::uint64_t, EVP_PKEY_CTX*>, 8> slots{};
        std::size_t next = 0;
        ~Slots() {
            for (auto& slot : slots) {
                EVP_PKEY_CTX_free(slot.second);
            }
        }
    };
    thread_local Slots t;
    for (const auto& [id, ctx] : t.slots) {
        if (ctx != nullptr && id == key_id) {
            return ctx;
        }
    }
    std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
        EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr), &EVP_PKEY_CTX_free);
    if (!ctx || EVP_PKEY_verify_init(ctx.get()) != 1 ||
        EVP_PKEY_CTX_set_signature_md(ctx.get(), fetched_digest(alg)) != 1) {
        throw Error(ErrorCode::internal, "cannot start a signature operation");
    }
    if (alg == Alg::PS256 &&
        (EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PSS_PADDING) != 1 ||
         EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), RSA_PSS_SALTLEN_DIGEST) != 1)) {
        throw Error(ErrorCode::internal, "cannot set RSA-PSS parameters");
    }
    auto& slot = t.slots[t.next++ % t.slots.size()];
    EVP_PKEY_CTX_free(slot.second);
    slot = {key_id, ctx.release()};
    return slot.second;
}

// RSA and ECDSA: the digest of the input, then the public-key check of it.
bool verify_prehashed(Alg alg, std::uint64_t key_id, EVP_PKEY* pkey, std::string_view input,
                      std::string_view signature) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;
    if (EVP_Digest(input.data(), input.size(), digest, &digest_len, fetched_digest(alg), nullptr) !=
        1) {
        throw Error(ErrorCode::internal, "cannot hash the signing input");
    }
    return EVP_PKEY_verify(pkey_verify_ctx(alg, key_id, pkey),
                           reinterpret_cast<const unsigned char*>(signature.data()),
                           signature.size(), digest, digest_len) == 1;
}

}  // namespace

std::optional<Alg> alg_from_string(std::string_view name) {
    if (name == "Ed25519") {
        return Alg::EdDSA;  // RFC 9864's fully-specified name for the same thing
    }
    for (const auto& a : k_algs) {
        if (a.name == name) {
            return a.alg;
        }
    }
    return std::nullopt;
}

std::string_view to_string(Alg alg) {
    return info(alg).name;
}
bool is_hmac(Alg a) {
    return a == Alg::HS256 || a == Alg::HS384 || a == Alg::HS512;
}

const std::vector<std::string>& alg_names() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> v;
        for (const auto& a : k_algs) {
            v.emplace_back(a.name);
        }
        return v;
    }();
    return names;
}

JoseKey::JoseKey(Alg alg, std::shared_ptr<EVP_PKEY> pkey, std::string secret)
    : m_alg(alg), m_pkey(std::move(pkey)), m_secret(std::move(secret)), m_key_id(next_key_id()) {
    if (m_pkey) {
        // A key has private parts when OpenSSL can export them.
        BIGNUM* d = nullptr;
        if (EVP_PKEY_get_bn_param(m_pkey.get(), OSSL_PKEY_PARAM_PRIV_KEY, &d) == 1 ||
            EVP_PKEY_get_bn_param(m_pkey.get(), OSSL_PKEY_PARAM_RSA_D, &d) == 1) {
            m_private = true;
        } else if (m_alg == Alg::EdDSA) {
            std::size_t len = 0;
            m_private = EVP_PKEY_get_raw_private_key(m_pkey.get(), nullptr, &len) == 1;
        }
        BN_clear_free(d);
    } else {
        m_private = true;
    }
}

JoseKey JoseKey::generate(Alg alg) {
    if (is_hmac(alg)) {
        std::string secret(info(alg).size, '\0');
        crypto::random_bytes(reinterpret_cast<unsigned char*>(secret.data()), secret.size());
        return JoseKey(alg, nullptr, std::move(secret));
    }
    if (is_rsa(alg)) {
        return JoseKey(
            alg, own(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(2048))),
            "");
    }
    if (is_ec(alg)) {
        return JoseKey(
            alg,
            own(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", alg == Alg::ES256 ? "P-256" : "P-384")),
            "");
    }
    return JoseKey(alg, own(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")), "");
}

JoseKey JoseKey::from_secret(Alg alg, std::string secret) {
    if (!is_hmac(alg)) {
        bad_key("a shared secret needs an HS algorithm");
    }
    if (secret.size() < info(alg).size) {
        bad_key("an " + std::string(to_string(alg)) + " secret must be at least " +
                std::to_string(info(alg).size) + " bytes (RFC 7518 §3.2)");
    }
    return JoseKey(alg, nullptr, std::move(secret));
}

JoseKey JoseKey::from_jwk(const json& jwk, std::optional<Alg> alg) {
    if (!jwk.is_object() || !jwk.contains("kty") || !jwk["kty"].is_string()) {
        bad_key("a JWK is a JSON object with \"kty\"");
    }
    if (jwk.contains("alg")) {
        const auto named =
            jwk["alg"].is_string() ? alg_from_string(jwk["alg"].get<std::string>()) : std::nullopt;
        if (!named) {
            bad_key("unsupported JWK \"alg\"");
        }
        if (alg && *alg != *named) {
            bad_key("the JWK's alg is " + std::string(to_string(*named)));
        }
        alg = named;
    }
    const auto kty = jwk["kty"].get<std::string>();
    if (kty == "oct") {
        if (!alg)
            alg = Alg::HS256;
        const auto k = jwk.contains("k") && jwk["k"].is_string()
                           ? base64url_decode(jwk["k"].get<std::string>())
                           : std::nullopt;
        if (!k)
            bad_key("an oct JWK needs \"k\" in base64url");
        return from_secret(*alg, *k);
    }
    if (kty == "RSA") {
        if (!alg)
            alg = Alg::RS256;
        if (!is_rsa(*alg))
            bad_key("an RSA key cannot be used with " + std::string(to_string(*alg)));
        auto n = bn_from_b64(jwk, "n", true);
        auto e = bn_from_b64(jwk, "e", true);
        auto d = bn_from_b64(jwk, "d", false);
        OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n.get());
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e.get());
        std::vector<Bn> keep;
        if (d) {
            OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_D, d.get());
            const std::pair<const char*, const char*> factors[] = {
                {"p", OSSL_PKEY_PARAM_RSA_FACTOR1},
                {"q", OSSL_PKEY_PARAM_RSA_FACTOR2},
                {"dp", OSSL_PKEY_PARAM_RSA_EXPONENT1},
                {"dq", OSSL_PKEY_PARAM_RSA_EXPONENT2},
                {"qi", OSSL_PKEY_PARAM_RSA_COEFFICIENT1}};
            for (const auto& [field, param] : factors) {
                if (auto v = bn_from_b64(jwk, field, false)) {
                    OSSL_PARAM_BLD_push_BN(bld, param, v.get());
                    keep.push_back(std::move(v));
                }
            }
        }
        auto pkey = from_params("RSA", bld, d != nullptr);
        if (EVP_PKEY_get_bits(pkey.get()) < 2048) {
            bad_key("RSA keys must have at least 2048 bits (RFC 7518 §3.3)");
        }
        return JoseKey(*alg, std::move(pkey), "");
    }
    if (kty == "EC") {
        const auto crv = jwk.value("crv", std::string());
        const std::optional<Alg> crv_alg = crv == "P-256"   ? std::optional(Alg::ES256)
                                           : crv == "P-384" ? std::optional(Alg::ES384)
                                                            : std::nullopt;
        if (!crv_alg)
            bad_key("EC keys must be on P-256 or P-384");
        if (!alg)
            alg = crv_alg;
        if (*alg != *crv_alg)
            bad_key(crv + " keys are for " + std::string(to_string(*crv_alg)));
        const auto size = info(*alg).size;
        const std::string pub =
            "\x04" + coordinate_bytes(jwk, "x", size) + coordinate_bytes(jwk, "y", size);
        auto d = bn_from_b64(jwk, "d", false);
        OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, crv.c_str(), 0);
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub.data(), pub.size());
        if (d)
            OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d.get());
        return JoseKey(*alg, from_params("EC", bld, d != nullptr), "");
    }
    if (kty == "OKP") {
        if (jwk.value("crv", std::string()) != "Ed25519")
            bad_key("OKP keys must be Ed25519");
        if (!alg)
            alg = Alg::EdDSA;
        if (*alg != Alg::EdDSA)
            bad_key("Ed25519 keys are for EdDSA");
        if (jwk.contains("d")) {
            auto d = field_bytes(jwk, "d", 32);
            auto pkey = own(EVP_PKEY_new_raw_private_key(
                EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(d.data()),
                d.size()));
            OPENSSL_cleanse(d.data(), d.size());
            JoseKey key(*alg, std::move(pkey), "");
            if (jwk.contains("x") && key.public_jwk("")["x"] != jwk["x"])
                bad_key("the JWK's x does not match its d");
            return key;
        }
        const auto x = field_bytes(jwk, "x", 32);
        return JoseKey(*alg,
                       own(EVP_PKEY_new_raw_public_key(
                           EVP_PKEY_ED25519, nullptr,
                           reinterpret_cast<const unsigned char*>(x.data()), x.size())),
                       "");
    }
    bad_key("unsupported kty \"" + kty + "\"");
}

JoseKey JoseKey::from_private_material(Alg alg, std::string_view material) {
    if (is_hmac(alg)) {
        return JoseKey(alg, nullptr, std::string(material));
    }
    const auto* p = reinterpret_cast<const unsigned char*>(material.data());
    return JoseKey(alg, own(d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(material.size()))),
                   "");
}

bool JoseKey::can_sign() const {
    return m_private;
}

json JoseKey::public_jwk(std::string_view kid) const {
    json j;
    if (is_hmac(m_alg)) {
        bad_key("HMAC keys are secret and have no public form");
    } else if (is_rsa(m_alg)) {
        j = {{"kty", "RSA"},
             {"n", b64_bn(get_bn(m_pkey.get(), OSSL_PKEY_PARAM_RSA_N).get(), 0)},
             {"e", b64_bn(get_bn(m_pkey.get(), OSSL_PKEY_PARAM_RSA_E).get(), 0)}};
    } else if (is_ec(m_alg)) {
        const auto size = info(m_alg).size;
        j = {{"kty", "EC"},
             {"crv", m_alg == Alg::ES256 ? "P-256" : "P-384"},
             {"x", b64_bn(get_bn(m_pkey.get(), OSSL_PKEY_PARAM_EC_PUB_X).get(), size)},
             {"y", b64_bn(get_bn(m_pkey.get(), OSSL_PKEY_PARAM_EC_PUB_Y).get(), size)}};
    } else {
        std::string x(32, '\0');
        std::size_t len = x.size();
        EVP_PKEY_get_raw_public_key(m_pkey.get(), reinterpret_cast<unsigned char*>(x.data()), &len);
        j = {{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", base64url_encode(x)}};
    }
    if (!kid.empty()) {
        j["kid"] = kid;
    }
    j["alg"] = to_string(m_alg);
    j["use"] = "sig";
    return j;
}

std::string JoseKey::private_material() const {
    if (!m_private) {
        throw Error(ErrorCode::internal, "a public key has no private material");
    }
    if (is_hmac(m_alg)) {
        return m_secret;
    }
    unsigned char* der = nullptr;
    const int len = i2d_PrivateKey(m_pkey.get(), &der);
    if (len <= 0) {
        throw Error(ErrorCode::internal, "cannot serialise a private key");
    }
    std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
    OPENSSL_clear_free(der, static_cast<std::size_t>(len));
    return out;
}

std::string JoseKey::sign(std::string_view input) const {
    if (!m_private) {
        throw Error(ErrorCode::invalid_argument, "this key can only verify");
    }
    if (is_hmac(m_alg)) {
        return hmac(m_alg, m_key_id, m_secret, input);
    }
    auto* ctx = init_ctx(m_alg, m_pkey.get(), true);
    std::size_t len = 0;
    const auto* data = reinterpret_cast<const unsigned char*>(input.data());
    if (EVP_DigestSign(ctx, nullptr, &len, data, input.size()) != 1) {
        throw Error(ErrorCode::internal, "signing failed");
    }
    std::string sig(len, '\0');
    if (EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len, data,
                       input.size()) != 1) {
        throw Error(ErrorCode::internal, "signing failed");
    }
    sig.resize(len);
    if (!is_ec(m_alg)) {
        return sig;
    }
    // JWS wants ECDSA signatures as fixed-size r || s, not DER (RFC 7518 §3.4).
    const auto* p = reinterpret_cast<const unsigned char*>(sig.data());
    ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
    if (es == nullptr) {
        throw Error(ErrorCode::internal, "signing produced a malformed ECDSA signature");
    }
    const auto n = info(m_alg).size;
    std::string raw(2 * n, '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(es), reinterpret_cast<unsigned char*>(raw.data()),
                 static_cast<int>(n));
    BN_bn2binpad(ECDSA_SIG_get0_s(es), reinterpret_cast<unsigned char*>(raw.data()) + n,
                 static_cast<int>(n));
    ECDSA_SIG_free(es);
    return raw;
}

bool JoseKey::verify(std::string_view input, std::string_view signature) const {
    if (is_hmac(m_alg)) {
        unsigned char mac[EVP_MAX_MD_SIZE];
        const auto len = hmac_into(m_alg, m_key_id, m_secret, input, mac);
        return crypto::constant_time_equal({reinterpret_cast<const char*>(mac), len}, signature);
    }
    std::string der;
    if (is_ec(m_alg)) {
        const auto n = info(m_alg).size;
        if (signature.size() != 2 * n) {
            return false;
        }
        ECDSA_SIG* es = ECDSA_SIG_new();
        const auto* s = reinterpret_cast<const unsigned char*>(signature.data());
        ECDSA_SIG_set0(es, BN_bin2bn(s, static_cast<int>(n), nullptr),
                       BN_bin2bn(s + n, static_cast<int>(n), nullptr));
        unsigned char* out = nullptr;
        const int len = i2d_ECDSA_SIG(es, &out);
        ECDSA_SIG_free(es);
        if (len <= 0) {
            return false;
        }
        der.assign(reinterpret_cast<char*>(out), static_cast<std::size_t>(len));
        OPENSSL_free(out);
        signature = der;
    }
    if (m_alg != Alg::EdDSA) {
        return verify_prehashed(m_alg, m_key_id, m_pkey.get(), input, signature);
    }
    auto* ctx = init_ctx(m_alg, m_pkey.get(), false);
    return EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()),
                            signature.size(), reinterpret_cast<const unsigned char*>(input.data()),
                            input.size()) == 1;
}

}  // namespace pb::tokens
