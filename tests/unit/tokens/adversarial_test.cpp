#include <gtest/gtest.h>

#include "common/core/base64.hpp"
#include "common/core/error.hpp"
#include "tests/support/errors.hpp"
#include "tests/unit/tokens/token_fixture.hpp"

namespace pb::tokens {
namespace {

using nlohmann::json;
using TokenVerify = test::TokenBackendTest;
using TokenIssue = test::TokenBackendTest;
using TokenKeysStored = test::TokenBackendTest;

std::string issue(test::TokenFixture& f, Alg alg, json claims = json::object(),
                  std::vector<std::string> aud = {}) {
    IssueRequest r;
    r.sub = "user-1";
    r.alg = alg;
    r.claims = std::move(claims);
    r.audience = std::move(aud);
    return f.tokens->issue(r, "test")["access_token"].get<std::string>();
}

std::vector<std::string> parts(const std::string& token) {
    const auto d1 = token.find('.');
    const auto d2 = token.find('.', d1 + 1);
    return {token.substr(0, d1), token.substr(d1 + 1, d2 - d1 - 1), token.substr(d2 + 1)};
}

Reason refused(test::TokenFixture& f, const std::string& token, VerifyOptions o = {}) {
    const auto check = f.tokens->verify(token, o);
    EXPECT_FALSE(check.valid) << token;
    return check.reason;
}

// A token pb issued verifies, for every algorithm pb supports.
TEST_P(TokenVerify, OwnTokensVerifyForEveryAlgorithm) {
    test::TokenFixture f(GetParam());
    for (const auto& name : alg_names()) {
        const auto token = issue(f, *alg_from_string(name));
        const auto check = f.tokens->verify(token, {});
        EXPECT_TRUE(check.valid) << name << ": " << check.message;
        EXPECT_EQ(check.header()["alg"], name);
    }
}

// alg "none" with the signature stripped is refused as an unsupported algorithm.
TEST_P(TokenVerify, AlgNoneRefused) {
    test::TokenFixture f(GetParam());
    const auto p = parts(issue(f, Alg::ES256));
    auto header = json::parse(*base64url_decode(p[0]));
    header["alg"] = "none";
    EXPECT_EQ(refused(f, base64url_encode(header.dump()) + "." + p[1] + "."),
              Reason::unsupported_alg);
}

// HS256 signed with the RSA public key (the classic confusion) is refused: the key fixes the
// algorithm.
TEST_P(TokenVerify, HmacWithRsaPublicKeyRefused) {
    test::TokenFixture f(GetParam());
    const auto p = parts(issue(f, Alg::RS256));
    auto header = json::parse(*base64url_decode(p[0]));
    const auto kid = header["kid"].get<std::string>();
    const auto pub = f.ring->find(kid)->key->public_jwk(kid).dump();
    header["alg"] = "HS256";
    const auto input = base64url_encode(header.dump()) + "." + p[1];
    const auto forged = JoseKey::from_secret(Alg::HS256, pub).sign(input);
    EXPECT_EQ(refused(f, input + "." + base64url_encode(forged)), Reason::unsupported_alg);
}

// An altered payload, a stripped or truncated signature, or a swapped header fail the signature.
TEST_P(TokenVerify, TamperingBreaksTheSignature) {
    test::TokenFixture f(GetParam());
    const auto token = issue(f, Alg::HS256);
    const auto p = parts(token);
    auto claims = json::parse(*base64url_decode(p[1]));
    claims["sub"] = "admin";
    EXPECT_EQ(refused(f, p[0] + "." + base64url_encode(claims.dump()) + "." + p[2]),
              Reason::bad_signature);
    EXPECT_EQ(refused(f, p[0] + "." + p[1] + "."), Reason::bad_signature);
    EXPECT_EQ(refused(f, p[0] + "." + p[1] + "." + p[2].substr(0, 20)), Reason::bad_signature);
    const auto other = parts(issue(f, Alg::HS256, {{"role", "x"}}));
    EXPECT_EQ(refused(f, other[0] + "." + p[1] + "." + other[2]), Reason::bad_signature);
}

// A kid nobody trusts is reported as unknown_key.
TEST_P(TokenVerify, UnknownKidRefused) {
    test::TokenFixture f(GetParam());
    const auto p = parts(issue(f, Alg::ES256));
    auto header = json::parse(*base64url_decode(p[0]));
    header["kid"] = "nobody";
    EXPECT_EQ(refused(f, base64url_encode(header.dump()) + "." + p[1] + "." + p[2]),
              Reason::unknown_key);
}

// exp is enforced (with the leeway), nbf in the future is not yet valid.
TEST_P(TokenVerify, ExpiredAndNotYetValid) {
    test::TokenFixture f(GetParam());
    const auto token = issue(f, Alg::HS256);
    f.clock.advance(TokenSettings{}.access_ttl_ms + TokenSettings{}.leeway_ms);
    EXPECT_EQ(refused(f, token), Reason::expired);
    f.clock.set(1'700'000'000'000);
    const auto signer = f.ring->signer(Alg::HS256, std::nullopt, "test");
    const json claims{
        {"iss", "pb"}, {"sub", "u"}, {"exp", 1'700'000'000 + 7200}, {"nbf", 1'700'000'000 + 3600}};
    const auto future = encode_jwt({{"kid", signer->kid}}, claims, *signer->key);
    EXPECT_EQ(refused(f, future), Reason::not_yet_valid);
}

// An audience asked for must be in aud; an issuer asked for must match.
TEST_P(TokenVerify, AudienceAndIssuer) {
    test::TokenFixture f(GetParam());
    const auto token = issue(f, Alg::ES256, json::object(), {"api", "web"});
    EXPECT_TRUE(f.tokens->verify(token, {.audience = "web"}).valid);
    EXPECT_EQ(refused(f, token, {.audience = "billing"}), Reason::wrong_audience);
    EXPECT_EQ(refused(f, token, {.issuer = "someone-else"}), Reason::wrong_issuer);
}

// Oversized tokens, bad base64, a non-object payload and duplicate claims are malformed.
TEST_P(TokenVerify, MalformedInputs) {
    test::TokenFixture f(GetParam());
    const auto p = parts(issue(f, Alg::HS256));
    EXPECT_EQ(refused(f, std::string(9000, 'a')), Reason::malformed);
    EXPECT_EQ(refused(f, p[0] + ".@@@." + p[2]), Reason::malformed);
    EXPECT_EQ(refused(f, "onlyonepart"), Reason::malformed);
    EXPECT_EQ(refused(f, p[0] + "." + base64url_encode("[1,2]") + "." + p[2]), Reason::malformed);
    EXPECT_EQ(refused(f, p[0] + "." + base64url_encode(R"({"sub":"a","sub":"b"})") + "." + p[2]),
              Reason::malformed);
    auto header = json::parse(*base64url_decode(p[0]));
    header["crit"] = json::array({"exp"});
    EXPECT_EQ(refused(f, base64url_encode(header.dump()) + "." + p[1] + "." + p[2]),
              Reason::malformed);
}

// A refresh token cannot stand in for an access token.
TEST_P(TokenVerify, RefreshTokenIsNotAnAccessToken) {
    test::TokenFixture f(GetParam());
    IssueRequest r;
    r.sub = "u";
    r.refresh = true;
    const auto pair = f.tokens->issue(r, "test");
    EXPECT_EQ(refused(f, pair["refresh_token"].get<std::string>()), Reason::wrong_token_type);
    EXPECT_TRUE(f.tokens->verify(pair["access_token"].get<std::string>(), {}).valid);
}

// Pins that an EC coordinate published without its leading zero octets (as
// PyJWT before 2.7 does for about one key in a hundred) is the same key, and
// that a coordinate longer than the curve's is still refused.
TEST(TokenKeys, EcCoordinatesWithoutLeadingZerosAreTheSameKey) {
    for (int i = 0; i < 20000; ++i) {
        const auto key = JoseKey::generate(Alg::ES256);
        auto jwk = key.public_jwk("k");
        const auto x = base64url_decode(jwk["x"].get<std::string>());
        ASSERT_TRUE(x && x->size() == 32);
        if ((*x)[0] != '\0') {
            continue;
        }
        jwk["x"] = base64url_encode(x->substr(1));
        const auto short_form = JoseKey::from_jwk(jwk);
        EXPECT_EQ(short_form.public_jwk("k"), key.public_jwk("k"));
        const auto signature = key.sign("payload");
        EXPECT_TRUE(short_form.verify("payload", signature));
        jwk["x"] = base64url_encode(std::string(1, '\x01') + *x);  // 33 octets
        EXPECT_EQ(test::error_code_of([&] { JoseKey::from_jwk(jwk); }),
                  ErrorCode::invalid_argument);
        return;
    }
    FAIL() << "no key with a leading zero octet in 20000 tries";
}

// An HMAC secret shorter than the hash is refused (RFC 7518 3.2).
TEST(TokenKeys, ShortHmacSecretRefused) {
    EXPECT_THROW(JoseKey::from_secret(Alg::HS256, std::string(31, 'x')), Error);
    EXPECT_NO_THROW(JoseKey::from_secret(Alg::HS256, std::string(32, 'x')));
    EXPECT_THROW(JoseKey::from_secret(Alg::HS512, std::string(63, 'x')), Error);
}

// Reserved claims cannot be set by the caller.
TEST_P(TokenIssue, ReservedClaimsRefused) {
    test::TokenFixture f(GetParam());
    IssueRequest r;
    r.sub = "u";
    r.claims = {{"exp", 99999999999}};
    EXPECT_THROW(f.tokens->issue(r, "test"), Error);
}

// A retired key's tokens stop verifying; a rotated-out key's tokens still verify.
TEST_P(TokenKeysStored, RotateKeepsOldKeysUntilRetired) {
    test::TokenFixture f(GetParam());
    const auto old_token = issue(f, Alg::ES256);
    const auto old_kid =
        json::parse(*base64url_decode(parts(old_token)[0]))["kid"].get<std::string>();
    f.clock.advance(1000);
    const auto fresh = f.ring->rotate(Alg::ES256, "test");
    EXPECT_NE(fresh->kid, old_kid);
    // Published at once, signing only once every JWKS cache holds it.
    const auto jwks = f.ring->jwks().dump();
    EXPECT_NE(jwks.find(fresh->kid), std::string::npos) << jwks;
    const auto ahead_token = issue(f, Alg::ES256);
    EXPECT_EQ(json::parse(*base64url_decode(parts(ahead_token)[0]))["kid"], old_kid);
    f.clock.advance(k_publish_ahead_ms);
    const auto new_token = issue(f, Alg::ES256);
    EXPECT_EQ(json::parse(*base64url_decode(parts(new_token)[0]))["kid"], fresh->kid);
    EXPECT_TRUE(f.tokens->verify(old_token, {}).valid);
    f.ring->retire(old_kid);
    EXPECT_EQ(refused(f, old_token), Reason::unknown_key);
    EXPECT_TRUE(f.tokens->verify(new_token, {}).valid);
}

// Retiring the old key (a compromise) makes the new one sign at once, published or not.
TEST_P(TokenKeysStored, RetiringTheOldKeyMakesTheNewOneSignAtOnce) {
    test::TokenFixture f(GetParam());
    const auto old_kid =
        json::parse(*base64url_decode(parts(issue(f, Alg::ES256))[0]))["kid"].get<std::string>();
    const auto fresh = f.ring->rotate(Alg::ES256, "test");
    f.ring->retire(old_kid);
    EXPECT_EQ(json::parse(*base64url_decode(parts(issue(f, Alg::ES256))[0]))["kid"], fresh->kid);
}

// Signing keys are sealed at rest: the database never holds a private key in clear.
TEST_P(TokenKeysStored, PrivateKeysSealedAtRest) {
    test::TokenFixture f(GetParam());
    issue(f, Alg::HS256);
    const auto rows = f.store->transaction(
        [](store::Connection& c) { return c.query("SELECT private_sealed FROM signing_keys"); });
    ASSERT_EQ(rows.size(), 1U);
    const auto sealed = rows.front().get_text(0);
    EXPECT_TRUE(sealed.starts_with("v1:"));
    const auto material =
        f.box.open_sealed(sealed, "pb.signing_key." + f.ring->list().front()->kid);
    EXPECT_EQ(sealed.find(base64_encode(material)), std::string::npos);
}

PB_INSTANTIATE_BACKENDS(TokenVerify);
PB_INSTANTIATE_BACKENDS(TokenIssue);
PB_INSTANTIATE_BACKENDS(TokenKeysStored);

}  // namespace
}  // namespace pb::tokens

namespace pb::tokens {
namespace {

// HMAC keys used in turn on one thread each sign with their own secret (the per-thread context is
// not stale).
TEST(TokenKeys, AlternatingHmacKeysStayDistinct) {
    const auto a = JoseKey::from_secret(Alg::HS256, std::string(32, 'a'));
    const auto b = JoseKey::from_secret(Alg::HS256, std::string(32, 'b'));
    const auto c = JoseKey::from_secret(Alg::HS512, std::string(64, 'a'));
    const std::string input = "header.payload";
    const auto sa = a.sign(input);
    const auto sb = b.sign(input);
    const auto sc = c.sign(input);
    EXPECT_NE(sa, sb);
    EXPECT_EQ(a.sign(input), sa);
    EXPECT_TRUE(b.verify(input, sb));
    EXPECT_FALSE(b.verify(input, sa));
    EXPECT_TRUE(a.verify(input, sa));
    EXPECT_EQ(c.sign(input).size(), 64U);
    EXPECT_TRUE(c.verify(input, sc));
    // A copy shares the secret, so it shares the result.
    const JoseKey copy = a;
    EXPECT_TRUE(copy.verify(input, sa));
}

}  // namespace
}  // namespace pb::tokens
