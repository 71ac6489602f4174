#include <gtest/gtest.h>

#include "common/core/base64.hpp"
#include "tests/unit/tokens/token_fixture.hpp"

namespace pb::tokens {
namespace {

using nlohmann::json;

struct VectorCase {
    const char* file;
};

class RfcVectorTest : public ::testing::TestWithParam<VectorCase> {};

// The RFC examples are tokens of issuer "joe", trusted with the published key.
void trust_joe(test::TokenFixture& f, const json& jwk) {
    IssuerSpec spec;
    spec.issuer = "joe";
    spec.jwk = jwk;
    f.tokens->issuers().add("joe", spec, "test");
}

// The published RFC examples verify with their public keys at an instant before their exp.
TEST_P(RfcVectorTest, VerifiesWithPublishedKeyBeforeExp) {
    test::TokenFixture f;
    const auto v = test::read_vector(GetParam().file);
    trust_joe(f, v["jwk_public"]);
    f.clock.set(v["clock"]["verify_at_unix"].get<std::int64_t>() * 1000);
    const auto check = f.tokens->verify(v["token"].get<std::string>(), {});
    EXPECT_TRUE(check.valid) << check.message;
    EXPECT_EQ(check.claims(), v["expected_payload_json"]);
}

// The same examples are expired at (and after) their exp, with no leeway to hide it.
TEST_P(RfcVectorTest, ExpiredAtExp) {
    test::TokenFixture f;
    const auto v = test::read_vector(GetParam().file);
    trust_joe(f, v["jwk_public"]);
    f.clock.set(v["clock"]["exp"].get<std::int64_t>() * 1000 + TokenSettings{}.leeway_ms);
    const auto check = f.tokens->verify(v["token"].get<std::string>(), {});
    EXPECT_FALSE(check.valid);
    EXPECT_EQ(check.reason, Reason::expired);
}

INSTANTIATE_TEST_SUITE_P(Rfc, RfcVectorTest,
                         ::testing::Values(VectorCase{"rfc7515-a1-hs256.json"},
                                           VectorCase{"rfc7515-a2-rs256.json"},
                                           VectorCase{"rfc7515-a3-es256.json"},
                                           VectorCase{"rfc7519-s3.1-example-jwt.json"}));

// RFC 8037 A.4: the Ed25519 JWS signature verifies; its payload is not a claims set, so as a JWT it
// is malformed.
TEST(RfcVectors, Ed25519SignatureVerifiesButPayloadIsNoJwt) {
    const auto v = test::read_vector("rfc8037-a4-ed25519.json");
    const auto key = JoseKey::from_jwk(v["jwk_public"]);
    const auto token = v["token"].get<std::string>();
    const auto dot = token.rfind('.');
    EXPECT_TRUE(key.verify(token.substr(0, dot), *base64url_decode(token.substr(dot + 1))));
    test::TokenFixture f;
    trust_joe(f, v["jwk_public"]);
    const auto check = f.tokens->verify(token, {});
    EXPECT_FALSE(check.valid);
    EXPECT_EQ(check.reason, Reason::malformed);
}

// RFC 8037 A.4: signing with the private key reproduces the published signature (Ed25519 is
// deterministic).
TEST(RfcVectors, Ed25519SigningIsReproducible) {
    const auto v = test::read_vector("rfc8037-a4-ed25519.json");
    const auto key = JoseKey::from_jwk(v["jwk"]);
    const auto token = v["token"].get<std::string>();
    const auto dot = token.rfind('.');
    EXPECT_EQ(base64url_encode(key.sign(token.substr(0, dot))), token.substr(dot + 1));
}

// RFC 7519 6.1: an unsecured token (alg none) is refused whatever keys are trusted.
TEST(RfcVectors, UnsecuredJwtRefused) {
    test::TokenFixture f;
    const auto v = test::read_vector("rfc7519-s6.1-unsecured-jwt.json");
    f.clock.set(v["clock"]["verify_at_unix"].get<std::int64_t>() * 1000);
    trust_joe(f, test::read_vector("rfc7515-a1-hs256.json")["jwk"]);
    const auto check = f.tokens->verify(v["token"].get<std::string>(), {});
    EXPECT_FALSE(check.valid);
    EXPECT_EQ(check.reason, Reason::unsupported_alg);
}

// RFC 7515 A.1: HMAC over the original header bytes (with CRLFs) matches the published signature.
TEST(RfcVectors, Hs256SignsOriginalBytes) {
    const auto v = test::read_vector("rfc7515-a1-hs256.json");
    const auto key = JoseKey::from_jwk(v["jwk"], Alg::HS256);
    const auto token = v["token"].get<std::string>();
    const auto dot = token.rfind('.');
    EXPECT_EQ(base64url_encode(key.sign(token.substr(0, dot))), token.substr(dot + 1));
}

}  // namespace
}  // namespace pb::tokens
