// Interop with another implementation on this machine: Debian's PyJWT.
#include <gtest/gtest.h>

#include "common/core/base64.hpp"
#include "tests/support/process.hpp"
#include "tests/unit/tokens/token_fixture.hpp"

namespace pb::tokens {
namespace {

using nlohmann::json;

const std::string k_secret = "an-hs256-secret-of-at-least-32-bytes!";
const std::string k_peer = std::string(PB_SOURCE_DIR) + "/tests/unit/tokens/pyjwt_peer.py";

test::RunResult python(const std::vector<std::string>& args) {
    std::vector<std::string> argv{"/usr/bin/python3", k_peer};
    argv.insert(argv.end(), args.begin(), args.end());
    return test::run(argv, {});
}

class PyJwtInterop : public ::testing::TestWithParam<const char*> {};

// A token pb issues verifies in PyJWT with the key pb publishes (HS256: the shared secret).
TEST_P(PyJwtInterop, PbTokensVerifyInPyJwt) {
    test::TokenFixture f(JoseKey::from_secret(Alg::HS256, k_secret));
    f.clock.set(SystemClock::instance().now());
    IssueRequest r;
    r.sub = "user-42";
    r.alg = *alg_from_string(GetParam());
    r.claims = {{"role", "admin"}};
    const auto token = f.tokens->issue(r, "test")["access_token"].get<std::string>();
    const auto kid =
        json::parse(*base64url_decode(token.substr(0, token.find('.'))))["kid"].get<std::string>();
    const json jwk = r.alg == Alg::HS256 ? json{{"kty", "oct"}, {"k", base64url_encode(k_secret)}}
                                         : f.ring->find(kid)->key->public_jwk(kid);
    const auto out = python({"verify", GetParam(), token, jwk.dump()});
    ASSERT_EQ(out.exit_code, 0) << out.err;
    const auto claims = json::parse(out.out);
    EXPECT_EQ(claims["sub"], "user-42");
    EXPECT_EQ(claims["role"], "admin");
}

// A token PyJWT signs verifies in pb once PyJWT's side is a trusted issuer with its public key
// (HS256: the shared secret as an oct JWK).
TEST_P(PyJwtInterop, PyJwtTokensVerifyInPb) {
    test::TokenFixture f(JoseKey::from_secret(Alg::HS256, k_secret));
    f.clock.set(SystemClock::instance().now());
    const auto out = python({"sign", GetParam(), k_secret});
    ASSERT_EQ(out.exit_code, 0) << out.err;
    const auto peer = json::parse(out.out);
    IssuerSpec spec;
    spec.issuer = "peer";
    spec.jwk = peer["jwk"];
    f.tokens->issuers().add("peer", spec, "test");
    const auto check = f.tokens->verify(peer["token"].get<std::string>(), {.issuer = "peer"});
    EXPECT_TRUE(check.valid) << check.message;
    EXPECT_EQ(check.claims()["sub"], "from-python");
}

INSTANTIATE_TEST_SUITE_P(Algs, PyJwtInterop, ::testing::Values("HS256", "RS256", "ES256", "EdDSA"));

}  // namespace
}  // namespace pb::tokens
