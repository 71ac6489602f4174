// Signed payloads that break the strict grammar of every JSON door are
// malformed: the signature does not make them readable.
#include <gtest/gtest.h>

#include "common/core/base64.hpp"
#include "common/core/json_parse.hpp"
#include "tests/unit/tokens/token_fixture.hpp"

namespace pb::tokens {
namespace {

using nlohmann::json;
using TokenStrictPayload = test::TokenBackendTest;

// A token signed by the ring's key with `payload` (raw text) as its claims.
std::string signed_with(test::TokenFixture& f, const std::string& payload) {
    IssueRequest r;
    r.sub = "user-1";
    r.alg = Alg::HS256;
    const auto token = f.tokens->issue(r, "test")["access_token"].get<std::string>();
    const auto header = token.substr(0, token.find('.'));
    const auto kid = parse_json(*base64url_decode(header), "header")["kid"].get<std::string>();
    const auto input = header + "." + base64url_encode(payload);
    return input + "." + base64url_encode(f.ring->find(kid)->key->sign(input));
}

Reason reason_of(test::TokenFixture& f, const std::string& token) {
    const auto check = f.tokens->verify(token, {});
    EXPECT_FALSE(check.valid) << check.message;
    return check.reason;
}

// exp 1e300 overflowed into a past instant: "expired". It is no NumericDate.
TEST_P(TokenStrictPayload, HugeNumericDatesAreMalformedNotExpired) {
    test::TokenFixture f(GetParam());
    const auto now_s = std::to_string(f.clock.now() / 1000);
    EXPECT_TRUE(f.tokens->verify(signed_with(f, R"({"sub":"u","exp":)" + now_s + "0}"), {}).valid);
    EXPECT_EQ(reason_of(f, signed_with(f, R"({"sub":"u","exp":1e300})")), Reason::malformed);
    EXPECT_EQ(reason_of(f, signed_with(f, R"({"sub":"u","exp":-1e300})")), Reason::malformed);
    EXPECT_EQ(reason_of(f, signed_with(f, R"({"sub":"u","exp":1e400})")), Reason::malformed);
    EXPECT_EQ(reason_of(f, signed_with(f, R"({"sub":"u","exp":)" + now_s + "0,\"nbf\":1e300}")),
              Reason::malformed);
}

TEST_P(TokenStrictPayload, DeepDuplicateOrTrailingPayloadsAreMalformed) {
    test::TokenFixture f(GetParam());
    const auto exp = std::to_string(f.clock.now() / 1000 + 600);
    const auto deep = std::string(2000, '[') + std::string(2000, ']');
    EXPECT_EQ(reason_of(f, signed_with(f, R"({"sub":"u","exp":)" + exp + ",\"x\":" + deep + "}")),
              Reason::malformed);
    EXPECT_EQ(reason_of(f, signed_with(f, R"({"sub":"u","sub":"admin","exp":)" + exp + "}")),
              Reason::malformed);
    EXPECT_EQ(
        reason_of(f, signed_with(f, R"({"sub":"u","exp":)" + exp + "}" + std::string(1, '\0'))),
        Reason::malformed);
}

PB_INSTANTIATE_BACKENDS(TokenStrictPayload);

}  // namespace
}  // namespace pb::tokens
