#include <gtest/gtest.h>

#include "common/core/error.hpp"
#include "tests/unit/tokens/token_fixture.hpp"

namespace pb::tokens {
namespace {

using nlohmann::json;
using TokenRefresh = test::TokenBackendTest;
using TokenRevoke = test::TokenBackendTest;

json pair_for(test::TokenFixture& f, const std::string& sub) {
    IssueRequest r;
    r.sub = sub;
    r.refresh = true;
    r.claims = {{"role", "admin"}};
    return f.tokens->issue(r, "test");
}

// A refresh spends the old refresh token and returns a new pair carrying the same grant.
TEST_P(TokenRefresh, RotatesAndKeepsClaims) {
    test::TokenFixture f(GetParam());
    const auto first = pair_for(f, "alice");
    const auto second = f.tokens->refresh(first["refresh_token"].get<std::string>());
    const auto check = f.tokens->verify(second["access_token"].get<std::string>(), {});
    ASSERT_TRUE(check.valid) << check.message;
    EXPECT_EQ(check.claims()["sub"], "alice");
    EXPECT_EQ(check.claims()["role"], "admin");
    EXPECT_NE(second["refresh_token"], first["refresh_token"]);
}

// Reusing a spent refresh token revokes the whole family: every token of it stops working.
TEST_P(TokenRefresh, ReuseRevokesTheFamily) {
    test::TokenFixture f(GetParam());
    const auto first = pair_for(f, "bob");
    const auto second = f.tokens->refresh(first["refresh_token"].get<std::string>());
    EXPECT_THROW(f.tokens->refresh(first["refresh_token"].get<std::string>()), Error);
    EXPECT_EQ(f.tokens->verify(second["access_token"].get<std::string>(), {}).reason,
              Reason::revoked);
    EXPECT_THROW(f.tokens->refresh(second["refresh_token"].get<std::string>()), Error);
    // Another family is untouched.
    const auto other = pair_for(f, "carol");
    EXPECT_TRUE(f.tokens->verify(other["access_token"].get<std::string>(), {}).valid);
}

// An access token cannot be used to refresh.
TEST_P(TokenRefresh, AccessTokenCannotRefresh) {
    test::TokenFixture f(GetParam());
    const auto p = pair_for(f, "dave");
    try {
        f.tokens->refresh(p["access_token"].get<std::string>());
        FAIL() << "refresh with an access token succeeded";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::unauthenticated);
    }
}

// A revoked token is refused at once, also by another service instance on the same database.
TEST_P(TokenRevoke, SeenAtOnceByAnotherInstance) {
    test::TokenFixture f(GetParam());
    const auto token = pair_for(f, "erin")["access_token"].get<std::string>();
    // A second instance (another process, in effect) that has already verified the token.
    auto follower2 = std::make_unique<events::Follower>(*f.store);
    KeyRing ring2(
        *f.store, f.clock, *follower2, [&]() -> const SecretBox& { return f.box; }, std::nullopt);
    TokenService tokens2(*f.store, f.clock, *follower2, ring2, TokenSettings{});
    EXPECT_TRUE(tokens2.verify(token, {}).valid);
    f.tokens->revoke(token, std::nullopt, std::nullopt, "test");
    EXPECT_EQ(tokens2.verify(token, {}).reason, Reason::revoked);
}

// Revocation by jti works without the token, and revoking twice is harmless.
TEST_P(TokenRevoke, ByJtiAndIdempotent) {
    test::TokenFixture f(GetParam());
    const auto token = pair_for(f, "frank")["access_token"].get<std::string>();
    const auto jti = f.tokens->verify(token, {}).claims()["jti"].get<std::string>();
    f.tokens->revoke(std::nullopt, jti, std::nullopt, "test");
    f.tokens->revoke(std::nullopt, jti, std::nullopt, "test");
    EXPECT_EQ(f.tokens->verify(token, {}).reason, Reason::revoked);
}

// Revoking garbage or a token from an unknown signer is bad input.
TEST_P(TokenRevoke, RefusesUntrustedTokens) {
    test::TokenFixture f(GetParam());
    EXPECT_THROW(f.tokens->revoke(std::string_view("a.b.c"), std::nullopt, std::nullopt, "t"),
                 Error);
    test::TokenFixture other(GetParam());
    const auto foreign = pair_for(other, "x")["access_token"].get<std::string>();
    EXPECT_THROW(f.tokens->revoke(std::string_view(foreign), std::nullopt, std::nullopt, "t"),
                 Error);
}

PB_INSTANTIATE_BACKENDS(TokenRefresh);
PB_INSTANTIATE_BACKENDS(TokenRevoke);

}  // namespace
}  // namespace pb::tokens
