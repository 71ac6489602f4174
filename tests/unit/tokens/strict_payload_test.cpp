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

// A token pb issued, its payload text changed by `edit`, signed again by the ring's key.
template <class Edit>
std::string resigned(test::TokenFixture& f, Edit edit) {
    IssueRequest r;
    r.sub = "user-1";
    r.alg = Alg::HS256;
    const auto token = f.tokens->issue(r, "test")["access_token"].get<std::string>();
    const auto d1 = token.find('.');
    const auto d2 = token.find('.', d1 + 1);
    const auto header = token.substr(0, d1);
    std::string payload = *base64url_decode(token.substr(d1 + 1, d2 - d1 - 1));
    edit(payload);
    const auto kid = parse_json(*base64url_decode(header), "header")["kid"].get<std::string>();
    const auto input = header + "." + base64url_encode(payload);
    return input + "." + base64url_encode(f.ring->find(kid)->key->sign(input));
}

// The payload with its "exp" value replaced by `exp` (text).
std::string with_exp(test::TokenFixture& f, const std::string& exp) {
    return resigned(f, [&](std::string& p) {
        const auto at = p.find("\"exp\":") + 6;
        p.replace(at, p.find_first_of(",}", at) - at, exp);
    });
}

// The payload with `members` added before its closing brace and `tail` after it.
std::string with_members(test::TokenFixture& f, const std::string& members,
                         const std::string& tail = "") {
    return resigned(f, [&](std::string& p) {
        p.insert(p.size() - 1, "," + members);
        p += tail;
    });
}

Reason reason_of(test::TokenFixture& f, const std::string& token) {
    const auto check = f.tokens->verify(token, {});
    EXPECT_FALSE(check.valid) << check.message;
    return check.reason;
}

// exp 1e300 overflowed into a past instant: "expired". It is no NumericDate.
TEST_P(TokenStrictPayload, HugeNumericDatesAreMalformedNotExpired) {
    test::TokenFixture f(GetParam());
    const auto far = std::to_string(f.clock.now() / 1000 * 10);  // in the 26th century
    EXPECT_TRUE(f.tokens->verify(with_exp(f, far), {}).valid);
    EXPECT_EQ(reason_of(f, with_exp(f, "1")), Reason::expired);
    EXPECT_EQ(reason_of(f, with_exp(f, "1e300")), Reason::malformed);
    EXPECT_EQ(reason_of(f, with_exp(f, "-1e300")), Reason::malformed);
    EXPECT_EQ(reason_of(f, with_exp(f, "1e400")), Reason::malformed);
    EXPECT_EQ(reason_of(f, with_exp(f, "253402300800")), Reason::malformed);  // year 10000
}

TEST_P(TokenStrictPayload, DeepDuplicateOrTrailingPayloadsAreMalformed) {
    test::TokenFixture f(GetParam());
    EXPECT_TRUE(f.tokens->verify(with_members(f, R"("x":1)"), {}).valid);
    const auto deep = std::string(2000, '[') + std::string(2000, ']');
    EXPECT_EQ(reason_of(f, with_members(f, R"("x":)" + deep)), Reason::malformed);
    EXPECT_EQ(reason_of(f, with_members(f, R"("sub":"admin")")), Reason::malformed);
    EXPECT_EQ(reason_of(f, with_members(f, R"("x":1)", std::string(1, '\0'))), Reason::malformed);
    EXPECT_EQ(reason_of(f, with_members(f, R"("x":18446744073709551616)")), Reason::malformed);
}

PB_INSTANTIATE_BACKENDS(TokenStrictPayload);

}  // namespace
}  // namespace pb::tokens
