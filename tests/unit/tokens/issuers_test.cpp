// Trusted issuers: a key vouches only for its own issuer, and what a
// third-party token may do is cut to its issuer's grants.
#include <gtest/gtest.h>

#include "common/core/error.hpp"
#include "common/tokens/grants.hpp"
#include "tests/support/errors.hpp"
#include "tests/unit/tokens/token_fixture.hpp"

namespace pb::tokens {
namespace {

using nlohmann::json;
using TrustedIssuers = test::TokenBackendTest;

constexpr std::int64_t k_now_s = 1'700'000'000;

struct Party {
    JoseKey key = JoseKey::generate(Alg::ES256);
    std::string kid;
    json jwk() const { return key.public_jwk(kid); }
    std::string sign(json claims) const {
        if (!claims.contains("exp")) {
            claims["exp"] = k_now_s + 600;
        }
        return encode_jwt({{"typ", "JWT"}, {"kid", kid}}, claims, key);
    }
};

std::shared_ptr<const TrustedIssuer> trust(test::TokenFixture& f, const std::string& name,
                                           const std::string& iss, const json& jwk,
                                           std::optional<std::string> audience = std::nullopt) {
    IssuerSpec spec;
    spec.issuer = iss;
    spec.jwk = jwk;
    spec.audience = std::move(audience);
    return f.tokens->issuers().add(name, spec, "test");
}

Reason refused(test::TokenFixture& f, const std::string& token, VerifyOptions o = {}) {
    const auto check = f.tokens->verify(token, o);
    EXPECT_FALSE(check.valid) << check.claims_text;
    return check.reason;
}

// Issuer A's key verifies A's tokens only: not one claiming issuer B, nor one claiming pb.
TEST_P(TrustedIssuers, KeyVouchesOnlyForItsOwnIss) {
    test::TokenFixture f(GetParam());
    const Party a{.kid = "a-1"};
    const Party b{.kid = "b-1"};
    trust(f, "a", "https://a.example", a.jwk());
    trust(f, "b", "https://b.example", b.jwk());
    const auto ok = f.tokens->verify(a.sign({{"iss", "https://a.example"}, {"sub", "u"}}), {});
    ASSERT_TRUE(ok.valid) << ok.message;
    ASSERT_NE(ok.issuer, nullptr);
    EXPECT_EQ(ok.issuer->name, "a");
    EXPECT_EQ(ok.to_json()["trusted_issuer"], "a");
    EXPECT_EQ(refused(f, a.sign({{"iss", "https://b.example"}, {"sub", "u"}})),
              Reason::unknown_key);
    EXPECT_EQ(refused(f, a.sign({{"iss", "pb"}, {"sub", "u"}})), Reason::unknown_key);
    EXPECT_EQ(refused(f, a.sign({{"iss", "https://c.example"}, {"sub", "u"}})),
              Reason::wrong_issuer);
    EXPECT_EQ(refused(f, a.sign({{"sub", "no-iss"}})), Reason::wrong_issuer);
}

// pb's own keys verify no token that claims a trusted issuer, and pb's JWKS lists only pb's keys.
TEST_P(TrustedIssuers, PbKeysDoNotVouchForOthers) {
    test::TokenFixture f(GetParam());
    const Party a{.kid = "a-1"};
    trust(f, "a", "https://a.example", a.jwk());
    const auto signer = f.ring->signer(Alg::ES256, std::nullopt, "test");
    const auto forged = encode_jwt(
        {{"kid", signer->kid}}, {{"iss", "https://a.example"}, {"sub", "u"}, {"exp", k_now_s + 60}},
        *signer->key);
    EXPECT_EQ(refused(f, forged), Reason::unknown_key);
    const auto jwks = f.ring->jwks();
    ASSERT_EQ(jwks["keys"].size(), 1U);
    EXPECT_EQ(jwks["keys"][0]["kid"], signer->kid);
}

// An issuer with an audience vouches only for tokens whose aud names it.
TEST_P(TrustedIssuers, AudienceRequiredWhenSet) {
    test::TokenFixture f(GetParam());
    const Party a{.kid = "a-1"};
    trust(f, "a", "https://a.example", a.jwk(), "api");
    EXPECT_EQ(refused(f, a.sign({{"iss", "https://a.example"}, {"sub", "u"}})),
              Reason::wrong_audience);
    EXPECT_EQ(refused(f, a.sign({{"iss", "https://a.example"}, {"sub", "u"}, {"aud", "web"}})),
              Reason::wrong_audience);
    EXPECT_TRUE(
        f.tokens
            ->verify(a.sign({{"iss", "https://a.example"}, {"sub", "u"}, {"aud", {"x", "api"}}}),
                     {})
            .valid);
}

// A refused add writes nothing: private keys, pb's own iss, a taken iss or name, no keys, bad URLs.
TEST_P(TrustedIssuers, RefusedAddLeavesNoIssuer) {
    test::TokenFixture f(GetParam());
    auto& issuers = f.tokens->issuers();
    const auto code = [&](const std::string& name, const IssuerSpec& spec) {
        return pb::test::error_code_of([&] { issuers.add(name, spec, "test"); });
    };
    const auto with_private = json::parse(R"({"kty":"EC","crv":"P-256",
        "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
        "d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"})");
    EXPECT_EQ(code("x", {.issuer = "https://x", .jwk = with_private}), ErrorCode::invalid_argument);
    const Party a{.kid = "a-1"};
    EXPECT_EQ(code("x", {.issuer = "pb", .jwk = a.jwk()}), ErrorCode::invalid_argument);
    EXPECT_EQ(code("x", {.issuer = "https://x"}), ErrorCode::invalid_argument);
    EXPECT_EQ(code("x", {.jwk = a.jwk()}), ErrorCode::invalid_argument);
    EXPECT_EQ(code("x", {.issuer = "https://x", .jwks_url = "http://127.0.0.1:1/jwks"}),
              ErrorCode::invalid_argument);
    EXPECT_EQ(code("x", {.issuer = "https://x", .jwks_url = "ftp://x/jwks"}),
              ErrorCode::invalid_argument);
    EXPECT_EQ(code("bad name", {.issuer = "https://x", .jwk = a.jwk()}),
              ErrorCode::invalid_argument);
    EXPECT_EQ(code("x", {.issuer = "https://x", .jwk = json{{"keys", json::array()}}}),
              ErrorCode::invalid_argument);
    EXPECT_TRUE(issuers.list().empty());
    trust(f, "a", "https://a.example", a.jwk());
    EXPECT_EQ(code("a", {.issuer = "https://other", .jwk = a.jwk()}), ErrorCode::conflict);
    EXPECT_EQ(code("b", {.issuer = "https://a.example", .jwk = a.jwk()}), ErrorCode::conflict);
    ASSERT_EQ(issuers.list().size(), 1U);
    EXPECT_EQ(issuers.list().front()->issuer, "https://a.example");
}

// A token's permissions are cut to its issuer's grants; admin only when granted by name.
TEST(TokenGrants, ClaimedWithinCeiling) {
    const auto claimed =
        claimed_permissions({{"permissions", {"admin", "states:read", "keys:write"}}});
    EXPECT_EQ(within_ceiling(claimed, {}), std::vector<std::string>{});
    EXPECT_EQ(within_ceiling(claimed, {"states:read"}), std::vector<std::string>{"states:read"});
    EXPECT_EQ(within_ceiling(claimed, {"*"}),
              (std::vector<std::string>{"states:read", "keys:write"}));
    EXPECT_EQ(within_ceiling(claimed, {"admin"}),
              (std::vector<std::string>{"admin", "states:read", "keys:write"}));
    EXPECT_EQ(
        within_ceiling(claimed_permissions({{"scope", "states:read deploy:write"}}), {"states:*"}),
        std::vector<std::string>{"states:read"});
}

// A token carries no more than its issuer holds: permissions or scope beyond them are refused.
TEST(TokenGrants, IssueNeedsTheCallersPermissions) {
    const std::vector<std::string> holder{"tokens:write", "states:read"};
    EXPECT_NO_THROW(require_within({{"permissions", {"states:read"}}}, holder));
    EXPECT_NO_THROW(require_within({{"role", "x"}}, holder));
    const auto code = [&](const json& claims) {
        return pb::test::error_code_of([&] { require_within(claims, holder); });
    };
    EXPECT_EQ(code({{"permissions", {"admin"}}}), ErrorCode::permission_denied);
    EXPECT_EQ(code({{"scope", "states:read keys:read"}}), ErrorCode::permission_denied);
    EXPECT_EQ(code({{"permissions", "admin"}}), ErrorCode::invalid_argument);
    EXPECT_EQ(code({{"scope", {"admin"}}}), ErrorCode::invalid_argument);
    EXPECT_NO_THROW(require_within({{"permissions", {"admin"}}}, {"admin"}));
}

// A pb token is a credential for pbd only without aud or with pbd's own audience.
TEST(TokenGrants, OwnTokenForAnotherAudienceIsNoCredential) {
    TokenSettings s;
    TokenCheck check;
    check.valid = true;
    check.claims_text = R"({"sub":"u","aud":"upstream","permissions":["admin"]})";
    EXPECT_THROW(credential_of(check, s), Error);
    TokenCheck own;
    own.valid = true;
    own.claims_text = R"({"sub":"u","aud":["pbd","x"],"permissions":["keys:read"]})";
    EXPECT_EQ(credential_of(own, s).permissions, std::vector<std::string>{"keys:read"});
}

// A key imported before issuers existed becomes a disabled issuer: it verifies nothing until its
// iss is pinned, then only that issuer's tokens.
TEST_P(TrustedIssuers, LegacyImportedKeyIsDisabledUntilPinned) {
    test::TokenFixture f(GetParam());
    const Party old{.kid = "legacy-1"};
    // Back to schema 5, with a key imported the old way, then migrate again
    // (later migrations run again too: they are written to allow that; 13
    // adds columns, which SQLite cannot add "if not exists": undone here).
    f.store->transaction([&](store::Connection& c) {
        c.exec("DROP TABLE token_issuers");
        c.exec("DROP INDEX audit_log_seq");
        c.exec("ALTER TABLE audit_log DROP COLUMN seq");
        c.exec("ALTER TABLE audit_log DROP COLUMN hmac");
        c.exec("DROP TABLE audit_chain");
        c.exec("DELETE FROM schema_migrations WHERE version >= 6");
        c.exec(
            "INSERT INTO signing_keys (kid, alg, status, origin, public_jwk, created_at) VALUES "
            "($1, 'ES256', 'verify', 'imported', $2, 1)",
            {old.kid, old.jwk().dump()});
    });
    store::migrate(*f.store, f.clock);
    f.reopen();
    auto& issuers = f.tokens->issuers();
    EXPECT_EQ(issuers.disabled(), std::vector<std::string>{"imported-legacy-1"});
    EXPECT_EQ(f.ring->find("legacy-1"), nullptr);
    const auto token = old.sign({{"iss", "legacy-svc"}, {"sub", "u"}});
    EXPECT_EQ(refused(f, token), Reason::wrong_issuer);
    issuers.update("imported-legacy-1", {.issuer = "legacy-svc"}, "test");
    EXPECT_TRUE(issuers.disabled().empty());
    EXPECT_TRUE(f.tokens->verify(token, {}).valid);
    EXPECT_EQ(refused(f, old.sign({{"iss", "pb"}, {"sub", "u"}})), Reason::unknown_key);
}

PB_INSTANTIATE_BACKENDS(TrustedIssuers);

}  // namespace
}  // namespace pb::tokens
