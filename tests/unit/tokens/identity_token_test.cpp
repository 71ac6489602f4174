// The gate's identity tokens, minted and cached (common/tokens/identity_token):
// on a manual clock, the reuse window, the re-signing after a key change, the
// memory bound, and pb's own verify refusing them.
#include "common/tokens/identity_token.hpp"

#include <fstream>

#include <gtest/gtest.h>

#include "common/core/error.hpp"
#include "tests/support/errors.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/unit/tokens/token_fixture.hpp"

namespace pb::tokens {
namespace {

using nlohmann::json;

IdentityTokenSettings settings(std::int64_t lifetime_ms = 5 * 60 * 1000,
                               std::size_t cache_entries = 10000) {
    IdentityTokenSettings s;
    s.enabled = true;
    s.audience = "upstream";
    s.lifetime_ms = lifetime_ms;
    s.cache_entries = cache_entries;
    return s;
}

ops::Caller key_caller(const std::string& id, const std::string& owner,
                       std::vector<std::string> permissions = {"deploy:write"}) {
    return {"key:" + id, std::move(permissions), owner, id, ""};
}

std::string kid_of(test::TokenFixture& f, const std::string& token) {
    return f.tokens->inspect(token)["header"].value("kid", "");
}

// Pins: the claims an upstream reads, and that pb's own verify refuses the token as an
// access token (wrong_token_type), whatever its signature and audience.
TEST(IdentityTokens, ClaimsAndPbRefusesIt) {
    test::TokenFixture f;
    IdentityTokens ids(*f.tokens, f.clock, settings());
    const auto token = ids.token_for(key_caller("k1", "svc-a", {"deploy:write", "states:read"}));
    const auto claims = f.tokens->inspect(token)["claims"];
    EXPECT_EQ(claims["iss"], "pb");
    EXPECT_EQ(claims["sub"], "svc-a");
    EXPECT_EQ(claims["owner"], "svc-a");
    EXPECT_EQ(claims["key_id"], "k1");
    EXPECT_EQ(claims["aud"], "upstream");
    EXPECT_EQ(claims["permissions"], json({"deploy:write", "states:read"}));
    EXPECT_EQ(claims["token_use"], "identity");
    EXPECT_EQ(claims["iat"], f.clock.now() / 1000);
    EXPECT_EQ(claims["nbf"], claims["iat"]);
    EXPECT_EQ(claims["exp"], f.clock.now() / 1000 + 300);
    // A JWT caller has no key_id.
    const auto jwt = ids.token_for({"jwt:alice", {"keys:read"}, "alice", "", ""});
    EXPECT_FALSE(f.tokens->inspect(jwt)["claims"].contains("key_id"));

    for (const auto& options :
         {VerifyOptions{}, VerifyOptions{.audience = std::string("upstream")}}) {
        const auto check = f.tokens->verify(token, options);
        EXPECT_FALSE(check.valid);
        EXPECT_EQ(check.reason, Reason::wrong_token_type) << check.message;
    }
}

// Pins: a caller's token is answered again until a quarter of its lifetime is left, then
// made anew; each caller (and each set of permissions) has its own.
TEST(IdentityTokens, ReusedUntilAQuarterOfTheLifetimeIsLeft) {
    test::TokenFixture f;
    IdentityTokens ids(*f.tokens, f.clock, settings(4 * 60 * 1000));
    const auto a = key_caller("k1", "svc-a");
    const auto first = ids.token_for(a);
    f.clock.advance(3 * 60 * 1000 - 1001);  // iat is whole seconds: 3 min after it, less 1 ms
    EXPECT_EQ(ids.token_for(a), first);
    EXPECT_NE(ids.token_for(key_caller("k2", "svc-b")), first);
    EXPECT_NE(ids.token_for(key_caller("k1", "svc-a", {"deploy:write", "x:read"})), first);
    f.clock.advance(1001);
    const auto renewed = ids.token_for(a);
    EXPECT_NE(renewed, first);
    EXPECT_EQ(ids.token_for(a), renewed);
}

// Pins: a cached token is made again once the ring's signer changed: a rotation once it
// signs (after the publish-ahead delay, not before), a retirement within a second.
TEST(IdentityTokens, MadeAgainWhenTheSigningKeyChanges) {
    test::TokenFixture f;
    IdentityTokens ids(*f.tokens, f.clock, settings(60 * 60 * 1000));
    const auto a = key_caller("k1", "svc-a");
    const auto first = ids.token_for(a);
    ASSERT_FALSE(kid_of(f, first).empty());
    // A rotation made in the first key's millisecond would tie for "newest".
    f.clock.advance(1000);
    const auto rotated = f.ring->rotate(Alg::ES256, "test");
    EXPECT_EQ(ids.token_for(a), first);  // the new key does not sign yet
    f.clock.advance(k_publish_ahead_ms + 1000);
    const auto after_rotation = ids.token_for(a);
    EXPECT_NE(after_rotation, first);
    EXPECT_EQ(kid_of(f, after_rotation), rotated->kid);

    // Its key retired, a token would stop verifying: it is made anew, by another key, as
    // soon as the ring is asked again (within k_signer_check_ms).
    f.ring->retire(rotated->kid);
    f.clock.advance(k_signer_check_ms);
    const auto after_retire = ids.token_for(a);
    EXPECT_NE(after_retire, after_rotation);
    EXPECT_NE(kid_of(f, after_retire), rotated->kid);
}

// Pins: memory is bounded: however many callers come, about cache_entries tokens are kept;
// 0 keeps none and signs every time.
TEST(IdentityTokens, CacheIsBounded) {
    test::TokenFixture f;
    IdentityTokens ids(*f.tokens, f.clock, settings(5 * 60 * 1000, 32));
    for (int i = 0; i < 500; ++i) {
        ids.token_for(key_caller("k" + std::to_string(i), "owner"));
    }
    EXPECT_LE(ids.cached(), 32U);
    EXPECT_GT(ids.cached(), 0U);

    IdentityTokens none(*f.tokens, f.clock, settings(5 * 60 * 1000, 0));
    const auto a = key_caller("k1", "svc-a");
    EXPECT_NE(none.token_for(a), none.token_for(a));
    EXPECT_EQ(none.cached(), 0U);
}

// Pins: gate.identity_token.* is read from the config and checked, naming the key.
TEST(IdentityTokens, SettingsFromConfig) {
    test::TempDir dir;
    const auto load = [&](const std::string& yaml) {
        const auto path = dir.file("pb.yaml");
        std::ofstream(path) << yaml;
        ConfigInputs in;
        in.file = path;
        return identity_token_settings_from_config(Config::load(in));
    };
    EXPECT_FALSE(load("").enabled);
    const auto s = load(
        "gate:\n  identity_token:\n    enabled: true\n    audience: app\n    lifetime: 90s\n"
        "    alg: EdDSA\n    cache_entries: 5\n");
    EXPECT_TRUE(s.enabled);
    EXPECT_EQ(s.audience, "app");
    EXPECT_EQ(s.lifetime_ms, 90'000);
    EXPECT_EQ(s.alg, Alg::EdDSA);
    EXPECT_EQ(s.cache_entries, 5U);
    const auto message = test::error_message_of(ErrorCode::invalid_argument, [&] {
        load("gate:\n  identity_token:\n    enabled: true\n    audience: app\n    lifetime: 0s\n");
    });
    EXPECT_NE(message.find("gate.identity_token.lifetime"), std::string::npos) << message;
}

}  // namespace
}  // namespace pb::tokens
