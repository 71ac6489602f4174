// The gate's identity tokens (gate.identity_token.*): GET /v1/auth answers
// X-PB-Identity-Token, a short-lived JWT an upstream verifies from pb's JWKS
// (here with PyJWT, as an upstream would), reused per caller, and never a
// credential for pbd itself on any surface.
#include "common/core/base64.hpp"
#include "tests/daemon/daemon_fixture.hpp"
#include "tests/support/ws_client.hpp"

namespace pb::test {
namespace {

using nlohmann::json;

const std::string k_audience = "billing-app";

DaemonOptions with_identity_tokens(std::map<std::string, std::string> extra = {}) {
    DaemonOptions o;
    o.env = {{"PB_LIMITS_IP_RATE", "off"},
             {"PB_GATE_IDENTITY_TOKEN", "true"},
             {"PB_GATE_IDENTITY_AUDIENCE", k_audience},
             {"PB_GATE_IDENTITY_LIFETIME", "2m"}};
    for (const auto& [k, v] : extra) {
        o.env[k] = v;
    }
    return o;
}

std::string identity_of(const httplib::Result& r) {
    return r && r->has_header("X-PB-Identity-Token") ? r->get_header_value("X-PB-Identity-Token")
                                                     : std::string();
}

// The token's payload, decoded without verifying (what it says, not whether to trust it).
json payload_of(const std::string& token) {
    const auto first = token.find('.');
    const auto second = token.find('.', first + 1);
    if (first == std::string::npos || second == std::string::npos) {
        return nullptr;
    }
    const auto text =
        base64url_decode(std::string_view(token).substr(first + 1, second - first - 1));
    return text ? json::parse(*text, nullptr, false) : json(nullptr);
}

// An upstream's verdict on `token` (tests/daemon/identity_verify.py: PyJWT, pb's JWKS over
// HTTP, signature, iss, aud and exp required): {"header","claims"}, or null when refused.
json upstream_verifies(const RunningDaemon& pbd, const std::string& token,
                       const std::string& audience = k_audience) {
    const auto r =
        run({"/usr/bin/python3", std::string(PB_SOURCE_DIR) + "/tests/daemon/identity_verify.py",
             pbd.url() + "/.well-known/jwks.json", "pb", audience},
            {}, token);
    if (r.exit_code != 0) {
        return nullptr;
    }
    return json::parse(r.out, nullptr, false);
}

// Pins: enabled, the gate answers a caller's identity in a JWT that an outside verifier
// (PyJWT, pb's JWKS) accepts for the configured audience and issuer, with sub, owner, key_id,
// permissions, token_use "identity", nbf = iat and exp = iat + the lifetime; refused for
// another audience. An anonymous pass (?anonymous=1, no credential) gets none.
TEST(DaemonIdentityToken, GateAnswersATokenAnUpstreamVerifies) {
    TempDir dir;
    RunningDaemon pbd(dir, with_identity_tokens());
    const auto admin = pbd.bootstrap_key();
    const auto key = created_key(
        pbd, admin, {{"owner", "svc-a"}, {"permissions", {"deploy:write", "states:read"}}});
    auto c = pbd.client();
    const auto ok = c->Get("/v1/auth", bearer(key["key"]));
    ASSERT_EQ(status_of(ok), 200);
    const auto token = identity_of(ok);
    ASSERT_FALSE(token.empty()) << "no X-PB-Identity-Token";

    const auto verified = upstream_verifies(pbd, token);
    ASSERT_TRUE(verified.is_object()) << "PyJWT refused the identity token";
    const auto& claims = verified["claims"];
    EXPECT_EQ(claims["iss"], "pb");
    EXPECT_EQ(claims["aud"], k_audience);
    EXPECT_EQ(claims["sub"], "svc-a");
    EXPECT_EQ(claims["owner"], "svc-a");
    EXPECT_EQ(claims["key_id"], key["id"]);
    EXPECT_EQ(claims["permissions"], json({"deploy:write", "states:read"}));
    EXPECT_EQ(claims["token_use"], "identity");
    EXPECT_EQ(claims["nbf"], claims["iat"]);
    EXPECT_EQ(claims["exp"].get<long long>() - claims["iat"].get<long long>(), 120);
    EXPECT_TRUE(claims["jti"].is_string());
    EXPECT_EQ(verified["header"]["alg"], "ES256");
    // The same signature is no good for another audience.
    EXPECT_TRUE(upstream_verifies(pbd, token, "other-app").is_null());

    // The identity headers still come, and a caller without a credential gets no token.
    EXPECT_EQ(ok->get_header_value("X-PB-Owner"), "svc-a");
    const auto anonymous = c->Get("/v1/auth?anonymous=1");
    ASSERT_EQ(status_of(anonymous), 200);
    EXPECT_FALSE(anonymous->has_header("X-PB-Identity-Token"));
    // A refusal carries none either.
    const auto refused = c->Get("/v1/auth?permission=admin", bearer(key["key"]));
    EXPECT_EQ(status_of(refused), 403);
    EXPECT_FALSE(refused->has_header("X-PB-Identity-Token"));
}

// Pins: off by default: the gate answers its identity headers and no token.
TEST(DaemonIdentityToken, NoTokenUnlessEnabled) {
    TempDir dir;
    DaemonOptions o;
    o.env = {{"PB_LIMITS_IP_RATE", "off"}};
    RunningDaemon pbd(dir, o);
    const auto ok = pbd.client()->Get("/v1/auth", bearer(pbd.bootstrap_key()));
    ASSERT_EQ(status_of(ok), 200);
    EXPECT_TRUE(ok->has_header("X-PB-Subject"));
    EXPECT_FALSE(ok->has_header("X-PB-Identity-Token"));
}

// Pins: a caller's token is answered again on its next gate call (not signed per request);
// another caller, and the same key once its permissions changed, get their own.
TEST(DaemonIdentityToken, ReusedPerCallerAndMadeAgainWhenTheCallerChanges) {
    TempDir dir;
    RunningDaemon pbd(dir, with_identity_tokens());
    const auto admin = pbd.bootstrap_key();
    const auto a = created_key(pbd, admin, {{"owner", "svc-a"}, {"permissions", {"deploy:write"}}});
    const auto b = created_key(pbd, admin, {{"owner", "svc-b"}, {"permissions", {"deploy:write"}}});
    auto c = pbd.client();
    const auto first = identity_of(c->Get("/v1/auth", bearer(a["key"])));
    const auto second = identity_of(c->Get("/v1/auth", bearer(a["key"])));
    ASSERT_FALSE(first.empty());
    EXPECT_EQ(first, second) << "the gate signed again for the same caller";
    const auto other = identity_of(c->Get("/v1/auth", bearer(b["key"])));
    ASSERT_FALSE(other.empty());
    EXPECT_NE(other, first);
    EXPECT_EQ(payload_of(other)["sub"], "svc-b");
    EXPECT_NE(payload_of(other)["jti"], payload_of(first)["jti"]);

    const auto update = run({pbctl_path(), "keys", "update", a["id"].get<std::string>(), "--perm",
                             "deploy:write", "--perm", "states:read"},
                            {{"PB_DB", pbd.db()}});
    ASSERT_EQ(update.exit_code, 0) << update.err;
    const auto changed = identity_of(c->Get("/v1/auth", bearer(a["key"])));
    ASSERT_FALSE(changed.empty());
    EXPECT_NE(changed, first);
    EXPECT_EQ(payload_of(changed)["permissions"], json({"deploy:write", "states:read"}));
}

// Pins: an identity token is never a credential for pbd, even one describing an admin:
// Bearer and X-API-Key on a route and on the gate (401 wrong_token_type), tokens.verify
// (valid false), a WebSocket upgrade and authenticate (unauthenticated), pbctl --server
// (exit 3). An access token pb issues for the same subject passes where it fails.
TEST(DaemonIdentityToken, NeverACredentialForPbd) {
    TempDir dir;
    RunningDaemon pbd(dir, with_identity_tokens());
    const auto admin = pbd.bootstrap_key();
    auto c = pbd.client();
    const auto token = identity_of(c->Get("/v1/auth", bearer(admin)));
    ASSERT_FALSE(token.empty());
    ASSERT_EQ(payload_of(token)["permissions"], json({"admin"}));

    // HTTP: a route, the gate itself, either header.
    for (const auto& headers : {bearer(token), httplib::Headers{{"X-API-Key", token}}}) {
        const auto route = c->Get("/v1/keys", headers);
        EXPECT_EQ(status_of(route), 401);
        EXPECT_EQ(body_json(route)["code"], "unauthenticated");
        EXPECT_EQ(body_json(route)["reason"], "wrong_token_type") << route->body;
        EXPECT_EQ(status_of(c->Get("/v1/auth", headers)), 401);
    }
    const auto verdict =
        body_json(c->Post("/v1/tokens/verify", json{{"token", token}}.dump(), "application/json"));
    EXPECT_EQ(verdict["valid"], false);
    EXPECT_EQ(verdict["reason"], "wrong_token_type");

    // WebSocket: on the upgrade, and by authenticate.
    const auto [status, body] =
        WsClient::try_upgrade(pbd.port(), {{"Authorization", "Bearer " + token}});
    EXPECT_EQ(status, 401);
    EXPECT_EQ(json::parse(body, nullptr, false)["code"], "unauthenticated");
    WsClient ws(pbd.port());
    const auto auth = ws.call("authenticate", {{"token", token}});
    EXPECT_EQ(auth["ok"], false) << auth.dump();
    EXPECT_EQ(auth["error"]["code"], "unauthenticated") << auth.dump();
    EXPECT_EQ(ws.call("keys.list")["error"]["code"], "unauthenticated");

    // pbctl: --server with the token as its credential, and tokens verify on the database.
    const auto remote = run({pbctl_path(), "--server", pbd.url(), "keys", "list"},
                            {{"PB_API_KEY", token}, {"HOME", dir.path().string()}});
    EXPECT_EQ(remote.exit_code, 3) << remote.out << remote.err;
    EXPECT_NE(remote.err.find("wrong_token_type"), std::string::npos) << remote.err;
    const auto local = run({pbctl_path(), "tokens", "verify", "-"}, {{"PB_DB", pbd.db()}}, token);
    EXPECT_EQ(local.exit_code, 3) << local.out << local.err;
    EXPECT_NE(local.err.find("wrong_token_type"), std::string::npos) << local.err;

    // The control: an access token pb issues for pbd, same subject, same permission, passes.
    const auto issued = body_json(c->Post(
        "/v1/tokens", bearer(admin),
        json{{"sub", payload_of(token)["sub"]}, {"claims", {{"permissions", {"admin"}}}}}.dump(),
        "application/json"));
    const auto access = issued["access_token"].get<std::string>();
    EXPECT_EQ(status_of(c->Get("/v1/keys", bearer(access))), 200);
    const auto ok = run({pbctl_path(), "--server", pbd.url(), "keys", "list"},
                        {{"PB_API_KEY", access}, {"HOME", dir.path().string()}});
    EXPECT_EQ(ok.exit_code, 0) << ok.err;
}

// --check-config refuses what would make identity tokens unsafe or useless, naming the key
// (exit 2), as the start does: no audience, pbd's own audience, a lifetime of 0 or beyond 1h,
// an HMAC algorithm (no JWKS publishes it), a negative cache size. A good setting is OK.
TEST(DaemonIdentityToken, BadSettingsFailCheckConfig) {
    TempDir dir;
    const auto check = [&](std::map<std::string, std::string> env) {
        env.emplace("PB_GATE_IDENTITY_TOKEN", "true");
        env.emplace("PB_GATE_IDENTITY_AUDIENCE", k_audience);
        return run({pbd_path(), "--db", dir.file("pb.db"), "--check-config"}, env);
    };
    const struct {
        std::map<std::string, std::string> env;
        std::string key;
    } bad[] = {
        {{{"PB_GATE_IDENTITY_AUDIENCE", ""}}, "gate.identity_token.audience"},
        {{{"PB_GATE_IDENTITY_AUDIENCE", "pbd"}}, "gate.identity_token.audience"},
        {{{"PB_GATE_IDENTITY_LIFETIME", "0s"}}, "gate.identity_token.lifetime"},
        {{{"PB_GATE_IDENTITY_LIFETIME", "2h"}}, "gate.identity_token.lifetime"},
        {{{"PB_GATE_IDENTITY_LIFETIME", "1500ms"}}, "gate.identity_token.lifetime"},
        {{{"PB_GATE_IDENTITY_ALG", "HS256"}}, "gate.identity_token.alg"},
        {{{"PB_GATE_IDENTITY_ALG", "none"}}, "gate.identity_token.alg"},
        {{{"PB_GATE_IDENTITY_CACHE_ENTRIES", "-1"}}, "gate.identity_token.cache_entries"},
    };
    for (const auto& b : bad) {
        const auto r = check(b.env);
        EXPECT_EQ(r.exit_code, 2) << b.key << ": " << r.out << r.err;
        EXPECT_NE(r.err.find(b.key), std::string::npos) << r.err;
        EXPECT_EQ(r.out, "");
    }
    // The start refuses the same.
    const auto start = run({pbd_path(), "--db", dir.file("pb.db"), "--listen", "127.0.0.1:0"},
                           {{"PB_GATE_IDENTITY_TOKEN", "true"}}, "", std::chrono::seconds(10));
    EXPECT_EQ(start.exit_code, 2) << start.err;
    EXPECT_NE(start.err.find("gate.identity_token.audience"), std::string::npos) << start.err;

    const auto good =
        check({{"PB_GATE_IDENTITY_LIFETIME", "1h"}, {"PB_GATE_IDENTITY_ALG", "EdDSA"}});
    EXPECT_EQ(good.exit_code, 0) << good.err;
    EXPECT_EQ(good.out, "OK\n");
    // Disabled, an empty audience is no problem.
    const auto off = run({pbd_path(), "--db", dir.file("pb.db"), "--check-config"}, {});
    EXPECT_EQ(off.exit_code, 0) << off.err;
}

}  // namespace
}  // namespace pb::test
