// Trusted issuers through the real pbd and pbctl: a third-party token acts
// only within its issuer's grants, keys vouch only for their own iss, JWKS URLs
// are followed (rotation, outage, bad documents), and pb's tokens carry no more
// than the caller who asks for them.
#include <fstream>

#include "common/runtime/op_table.hpp"
#include "common/store/store.hpp"
#include "tests/daemon/daemon_fixture.hpp"

namespace pb::test {
namespace {

using nlohmann::json;

const std::string k_python = "/usr/bin/python3";
const std::string k_peer = std::string(PB_SOURCE_DIR) + "/tests/daemon/jwt_issuer.py";
const std::string k_partner = "https://idp.partner.example";

// An ES256 signing key of another issuer, held by PyJWT.
struct PartnerKey {
    std::string pem;
    std::string kid;
    json jwk;

    PartnerKey(const TempDir& dir, std::string key_id)
        : pem(dir.file(key_id + ".pem")), kid(key_id) {
        const auto r = run({k_python, k_peer, "key", pem, kid}, {});
        EXPECT_EQ(r.exit_code, 0) << r.err;
        jwk = json::parse(r.out);
    }

    std::string sign(const json& claims) const {
        const auto r = run({k_python, k_peer, "sign", pem, kid, claims.dump()}, {});
        EXPECT_EQ(r.exit_code, 0) << r.err;
        auto token = r.out;
        while (!token.empty() && token.back() == '\n') {
            token.pop_back();
        }
        return token;
    }

    // The JWK in a file, for --jwk.
    std::string jwk_file(const TempDir& dir) const {
        const auto path = dir.file(kid + ".jwk.json");
        std::ofstream(path) << jwk.dump();
        return path;
    }
};

RunResult pbctl(const RunningDaemon& pbd, std::vector<std::string> args,
                const std::string& stdin_text = "") {
    args.insert(args.begin(), pbctl_path());
    return run(args, {{"PB_DB", pbd.db()}}, stdin_text);
}

RunResult pbctl_remote(const RunningDaemon& pbd, const std::string& key,
                       std::vector<std::string> args) {
    args.insert(args.begin(), {pbctl_path(), "--server", pbd.url()});
    return run(args, {{"PB_API_KEY", key}});
}

// The op's route with every {capture} filled in.
std::string route_path(const ops::Op& op) {
    std::string path = op.route.path;
    for (auto open = path.find('{'); open != std::string::npos; open = path.find('{')) {
        path.replace(open, path.find('}', open) - open + 1, "x");
    }
    return path;
}

int call(httplib::Client& c, const ops::Op& op, const std::string& token) {
    const auto path = route_path(op);
    const auto h = bearer(token);
    const auto& m = op.route.method;
    if (m == "GET") {
        return status_of(c.Get(path.c_str(), h));
    }
    if (m == "DELETE") {
        return status_of(c.Delete(path.c_str(), h));
    }
    if (m == "PUT") {
        return status_of(c.Put(path.c_str(), h, "{}", "application/json"));
    }
    if (m == "PATCH") {
        return status_of(c.Patch(path.c_str(), h, "{}", "application/json"));
    }
    return status_of(c.Post(path.c_str(), h, "{}", "application/json"));
}

// The ops a caller with `permissions` may not run, each answering 403 to `token`.
void expect_refused_beyond(const RunningDaemon& pbd, const std::string& token,
                           const std::vector<std::string>& permissions, bool mutating_only) {
    auto c = pbd.client();
    int walked = 0;
    for (const auto& op : runtime::op_table().all()) {
        if (op.permission.empty() || op.route.path.empty() ||
            ops::has_permission(permissions, op.permission) ||
            (mutating_only && op.mutates != ops::Mutates::yes)) {
            continue;
        }
        ++walked;
        EXPECT_EQ(call(*c, op, token), 403)
            << op.name << " " << op.route.method << " " << route_path(op);
    }
    EXPECT_GT(walked, 20);
}

// A JWKS document served on 127.0.0.1 by cpp-httplib, as an identity provider would.
class JwksServer {
  public:
    // port 0: any free port; another: that one (an IdP back up at its pinned URL).
    explicit JwksServer(int port = 0) {
        m_server.set_tcp_nodelay(true);
        m_server.Get("/jwks.json", [this](const httplib::Request&, httplib::Response& res) {
            std::lock_guard lock(m_mutex);
            ++m_hits;
            res.set_content(m_body, "application/json");
        });
        if (port == 0) {
            m_port = m_server.bind_to_any_port("127.0.0.1");
        } else {
            EXPECT_TRUE(m_server.bind_to_port("127.0.0.1", port)) << "port " << port;
            m_port = port;
        }
        m_thread = std::thread([this] { m_server.listen_after_bind(); });
        for (int i = 0; i < 500 && !m_server.is_running(); ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
    }
    ~JwksServer() { stop(); }

    void serve(std::string body) {
        std::lock_guard lock(m_mutex);
        m_body = std::move(body);
    }
    void serve_keys(const std::vector<json>& keys) { serve(json{{"keys", keys}}.dump()); }
    int hits() {
        std::lock_guard lock(m_mutex);
        return m_hits;
    }
    void stop() {
        if (m_thread.joinable()) {
            m_server.stop();
            m_thread.join();
        }
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(m_port) + "/jwks.json"; }
    int port() const { return m_port; }

  private:
    httplib::Server m_server;
    std::thread m_thread;
    int m_port = 0;
    std::mutex m_mutex;
    std::string m_body = R"({"keys":[]})";
    int m_hits = 0;
};

json partner_claims(json extra = json::object()) {
    json claims{{"iss", k_partner}, {"sub", "partner-user"}};
    claims.update(extra);
    return claims;
}

int auth_status(const RunningDaemon& pbd, const std::string& token) {
    return status_of(pbd.client()->Get("/v1/auth", bearer(token)));
}

// A trusted issuer's token claiming admin, with no grant, is refused on every route that needs a
// permission (403), yet authenticates at /v1/auth; pb's JWKS never lists the partner's key.
TEST(DaemonIssuers, AdminClaimWithoutGrantIsRefusedEverywhere) {
    TempDir dir;
    RunningDaemon pbd(dir);
    const PartnerKey partner(dir, "partner-1");
    const auto added = pbctl(pbd, {"tokens", "issuers", "add", "partner", "--issuer", k_partner,
                                   "--jwk", partner.jwk_file(dir), "--audience", "api"});
    ASSERT_EQ(added.exit_code, 0) << added.err;
    const auto token = partner.sign(partner_claims({{"permissions", {"admin"}}, {"aud", "api"}}));
    expect_refused_beyond(pbd, token, {}, true);
    auto c = pbd.client();
    const auto list = c->Get("/v1/keys", bearer(token));
    EXPECT_EQ(status_of(list), 403);
    EXPECT_EQ(auth_status(pbd, token), 200);
    EXPECT_EQ(status_of(c->Get("/v1/auth?permission=admin", bearer(token))), 403);
    // Without the issuer's audience the same token is no credential at all.
    EXPECT_EQ(auth_status(pbd, partner.sign(partner_claims({{"permissions", {"admin"}}}))), 401);
    EXPECT_EQ(status_of(c->Post("/v1/tokens", bearer(pbd.bootstrap_key()), R"({"sub":"s"})",
                                "application/json")),
              201);
    const auto jwks = body_json(c->Get("/.well-known/jwks.json"));
    ASSERT_EQ(jwks["keys"].size(), 1U);
    EXPECT_NE(jwks["keys"][0]["kid"], "partner-1");
    EXPECT_EQ(jwks.dump().find(partner.jwk["x"].get<std::string>()), std::string::npos);
}

// With --grant states:read a partner token claiming admin reads states and nothing else; a scope
// claim counts the same way.
TEST(DaemonIssuers, GrantStatesReadReadsStatesOnly) {
    TempDir dir;
    RunningDaemon pbd(dir);
    const PartnerKey partner(dir, "partner-1");
    const auto added =
        pbctl_remote(pbd, pbd.bootstrap_key(),
                     {"tokens", "issuers", "add", "partner", "--issuer", k_partner, "--jwk",
                      partner.jwk_file(dir), "--grant", "states:read", "--grant", "deploy:write"});
    ASSERT_EQ(added.exit_code, 0) << added.err;
    const auto token = partner.sign(partner_claims({{"permissions", {"admin", "states:read"}}}));
    auto c = pbd.client();
    EXPECT_EQ(status_of(c->Get("/v1/states", bearer(token))), 200);
    expect_refused_beyond(pbd, token, {"states:read"}, false);
    const auto scoped = partner.sign(partner_claims({{"scope", "states:read keys:read"}}));
    EXPECT_EQ(status_of(c->Get("/v1/states", bearer(scoped))), 200);
    EXPECT_EQ(status_of(c->Get("/v1/keys", bearer(scoped))), 403);
    const auto none = partner.sign(partner_claims({{"permissions", {"keys:read"}}}));
    EXPECT_EQ(status_of(c->Get("/v1/states", bearer(none))), 403);
}

// A token signed by issuer A claiming issuer B's iss, or pb's, is refused; so is one with no iss
// and one of an issuer nobody trusts.
TEST(DaemonIssuers, KeyOfOneIssuerDoesNotVouchForAnother) {
    TempDir dir;
    RunningDaemon pbd(dir);
    const PartnerKey a(dir, "a-1");
    const PartnerKey b(dir, "b-1");
    ASSERT_EQ(pbctl(pbd, {"tokens", "issuers", "add", "a", "--issuer", "https://a.example", "--jwk",
                          a.jwk_file(dir), "--grant", "states:read"})
                  .exit_code,
              0);
    ASSERT_EQ(pbctl(pbd, {"tokens", "issuers", "add", "b", "--issuer", "https://b.example", "--jwk",
                          b.jwk_file(dir), "--grant", "admin"})
                  .exit_code,
              0);
    const json perms{{"permissions", {"admin"}}, {"sub", "x"}};
    auto claims = perms;
    claims["iss"] = "https://a.example";
    EXPECT_EQ(auth_status(pbd, a.sign(claims)), 200);
    for (const auto* iss : {"https://b.example", "pb", "https://nobody.example"}) {
        claims["iss"] = iss;
        const auto res = pbd.client()->Get("/v1/keys", bearer(a.sign(claims)));
        EXPECT_EQ(status_of(res), 401) << iss;
    }
    EXPECT_EQ(auth_status(pbd, a.sign(perms)), 401);
    // The verify op says the same, with the reason.
    claims["iss"] = "https://b.example";
    const auto verdict = body_json(pbd.client()->Post(
        "/v1/tokens/verify", json{{"token", a.sign(claims)}}.dump(), "application/json"));
    EXPECT_EQ(verdict["valid"], false);
    EXPECT_EQ(verdict["reason"], "unknown_key");
}

// A JWKS URL: pbd fetches it on first use, follows a rotation when a token names a kid it lacks
// (tokens.jwks_min_refresh 0s here), and pbctl on the database verifies the same way.
TEST(DaemonIssuers, JwksUrlRotationIsFollowed) {
    TempDir dir;
    JwksServer idp;
    const PartnerKey k1(dir, "k1");
    const PartnerKey k2(dir, "k2");
    idp.serve_keys({k1.jwk});
    RunningDaemon pbd(dir, {.env = {{"PB_JWT_JWKS_MIN_REFRESH", "0s"}}});
    const auto added = pbctl(pbd, {"tokens", "issuers", "add", "partner", "--issuer", k_partner,
                                   "--jwks-url", idp.url(), "--allow-http"});
    ASSERT_EQ(added.exit_code, 0) << added.err;
    EXPECT_EQ(auth_status(pbd, k1.sign(partner_claims())), 200);
    const auto first = idp.hits();
    EXPECT_GE(first, 1);
    idp.serve_keys({k2.jwk});
    EXPECT_EQ(auth_status(pbd, k2.sign(partner_claims())), 200);
    EXPECT_EQ(idp.hits(), first + 1);
    const auto verify =
        run({pbctl_path(), "tokens", "verify", "-"},
            {{"PB_DB", pbd.db()}, {"PB_JWT_JWKS_MIN_REFRESH", "0s"}}, k2.sign(partner_claims()));
    EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
    EXPECT_NE(verify.out.find("partner"), std::string::npos);
}

// With the default tokens.jwks_min_refresh (30s), tokens naming unknown kids make pbd fetch the
// JWKS no more than once.
TEST(DaemonIssuers, UnknownKidsDoNotHammerTheIssuer) {
    TempDir dir;
    JwksServer idp;
    const PartnerKey k1(dir, "k1");
    const PartnerKey k2(dir, "k2");
    idp.serve_keys({k1.jwk});
    RunningDaemon pbd(dir);
    ASSERT_EQ(pbctl(pbd, {"tokens", "issuers", "add", "partner", "--issuer", k_partner,
                          "--jwks-url", idp.url(), "--allow-http"})
                  .exit_code,
              0);
    EXPECT_EQ(auth_status(pbd, k1.sign(partner_claims())), 200);
    idp.serve_keys({k2.jwk});
    const auto token = k2.sign(partner_claims());
    for (int i = 0; i < 5; ++i) {
        EXPECT_EQ(auth_status(pbd, token), 401);
    }
    EXPECT_EQ(idp.hits(), 1);
}

// While the JWKS URL is unreachable, or serves an oversized, malformed or private document, the
// keys last fetched keep verifying; a good document replaces them.
TEST(DaemonIssuers, CachedKeysSurviveOutagesAndBadDocuments) {
    TempDir dir;
    auto idp = std::make_unique<JwksServer>();
    const PartnerKey k1(dir, "k1");
    const PartnerKey k2(dir, "k2");
    idp->serve_keys({k1.jwk});
    RunningDaemon pbd(dir, {.env = {{"PB_JWT_JWKS_MIN_REFRESH", "0s"},
                                    {"PB_JWT_JWKS_CACHE_TTL", "0s"},
                                    {"PB_JWT_JWKS_TIMEOUT", "2s"}}});
    const auto admin = pbd.bootstrap_key();
    ASSERT_EQ(pbctl(pbd, {"tokens", "issuers", "add", "partner", "--issuer", k_partner,
                          "--jwks-url", idp->url(), "--allow-http"})
                  .exit_code,
              0);
    const auto t1 = k1.sign(partner_claims());
    const auto last_error = [&] {
        const auto show = body_json(pbd.client()->Get("/v1/tokens/issuers/partner", bearer(admin)));
        return show["jwks"]["last_error"].is_string()
                   ? show["jwks"]["last_error"].get<std::string>()
                   : std::string();
    };
    EXPECT_EQ(auth_status(pbd, t1), 200);
    auto with_private = k2.jwk;
    with_private["d"] = "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI";
    const std::vector<std::pair<std::string, std::string>> bad{
        {json{{"keys", {k2.jwk}}, {"pad", std::string(70 * 1024, 'x')}}.dump(), "larger than"},
        {R"({"keys":[{"kty":"EC")", "JWKS document: not valid JSON"},
        {json{{"keys", {with_private}}}.dump(), "private key"},
        {R"({"keys":"none"})", "must be an array"},
    };
    for (const auto& [body, why] : bad) {
        idp->serve(body);
        EXPECT_EQ(auth_status(pbd, t1), 200) << why;
        EXPECT_NE(last_error().find(why), std::string::npos) << last_error();
        EXPECT_EQ(auth_status(pbd, k2.sign(partner_claims())), 401) << why;
    }
    idp->serve_keys({k1.jwk});
    EXPECT_EQ(auth_status(pbd, t1), 200);
    EXPECT_EQ(last_error(), "");
    idp->stop();
    EXPECT_EQ(auth_status(pbd, t1), 200);
    EXPECT_NE(last_error(), "");
    idp = std::make_unique<JwksServer>();  // a new IdP address is not the pinned URL: still cached
    EXPECT_EQ(auth_status(pbd, t1), 200);
}

// While the JWKS URL is down, the keys last fetched verify for tokens.jwks_max_stale after that
// fetch and no longer: the refusal (401) comes no earlier than max_stale after the last good
// fetch (a lower bound on a steady clock, not a timed assertion), and ends with the first good
// fetch once the IdP is back at its URL.
TEST(DaemonIssuers, CachedKeysStopVerifyingAfterMaxStale) {
    constexpr auto k_max_stale = std::chrono::seconds(3);
    TempDir dir;
    auto idp = std::make_unique<JwksServer>();
    const PartnerKey k1(dir, "k1");
    idp->serve_keys({k1.jwk});
    const auto port = idp->port();
    // cache_ttl 0s: every token asks for a fetch, so the last good fetch is the last 200 before
    // the outage; min_refresh 0s: the first request after the IdP is back fetches.
    RunningDaemon pbd(dir, {.env = {{"PB_JWT_JWKS_MAX_STALE", "3s"},
                                    {"PB_JWT_JWKS_MIN_REFRESH", "0s"},
                                    {"PB_JWT_JWKS_CACHE_TTL", "0s"},
                                    {"PB_JWT_JWKS_TIMEOUT", "2s"}}});
    ASSERT_EQ(pbctl(pbd, {"tokens", "issuers", "add", "partner", "--issuer", k_partner,
                          "--jwks-url", idp->url(), "--allow-http"})
                  .exit_code,
              0);
    const auto token = k1.sign(partner_claims());
    const auto last_good_fetch_no_later_than = std::chrono::steady_clock::now();
    ASSERT_EQ(auth_status(pbd, token), 200);
    const auto hits = idp->hits();
    ASSERT_GE(hits, 1);
    idp->stop();
    EXPECT_EQ(auth_status(pbd, token), 200);  // the fetch fails; the cached key still verifies

    int status = 200;
    for (int i = 0; i < 300 && status == 200; ++i) {  // 30 s bound
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        status = auth_status(pbd, token);
    }
    const auto refused_after = std::chrono::steady_clock::now() - last_good_fetch_no_later_than;
    ASSERT_EQ(status, 401) << "still verifying 30 s into the outage";
    EXPECT_GE(refused_after, k_max_stale)
        << std::chrono::duration_cast<std::chrono::milliseconds>(refused_after).count()
        << " ms after the last good fetch";
    EXPECT_EQ(auth_status(pbd, token), 401);  // refused it stays, while the URL is down

    idp = std::make_unique<JwksServer>(port);
    idp->serve_keys({k1.jwk});
    EXPECT_EQ(auth_status(pbd, token), 200);
    EXPECT_GE(idp->hits(), 1);
}

// A key with only tokens:write cannot issue a token carrying more (403), by permissions, --claim
// or scope; pbctl on the database acts as the operator.
TEST(DaemonIssuers, TokensWriteCannotMintMore) {
    TempDir dir;
    RunningDaemon pbd(dir);
    const auto made = pbctl(pbd, {"keys", "create", "--owner", "minter", "--perm", "tokens:write",
                                  "--perm", "states:read", "-q"});
    ASSERT_EQ(made.exit_code, 0) << made.err;
    auto minter = made.out;
    minter.pop_back();
    auto c = pbd.client();
    const auto issue = [&](const json& body) {
        return c->Post("/v1/tokens", bearer(minter), body.dump(), "application/json");
    };
    const auto refused = issue({{"sub", "s"}, {"claims", {{"permissions", {"admin"}}}}});
    EXPECT_EQ(status_of(refused), 403);
    EXPECT_EQ(body_json(refused)["code"], "permission_denied");
    EXPECT_EQ(status_of(issue({{"sub", "s"}, {"claims", {{"scope", "keys:read"}}}})), 403);
    const auto remote = pbctl_remote(
        pbd, minter, {"tokens", "issue", "--sub", "s", "--claim", R"(permissions=["admin"])"});
    EXPECT_EQ(remote.exit_code, 6) << remote.out << remote.err;
    const auto ok = issue({{"sub", "s"}, {"claims", {{"permissions", {"states:read"}}}}});
    ASSERT_EQ(status_of(ok), 201);
    const auto jwt = body_json(ok)["access_token"].get<std::string>();
    EXPECT_EQ(status_of(c->Get("/v1/states", bearer(jwt))), 200);
    EXPECT_EQ(status_of(c->Get("/v1/keys", bearer(jwt))), 403);
    const auto local =
        pbctl(pbd, {"tokens", "issue", "--sub", "op", "--claim", R"(permissions=["admin"])", "-q"});
    EXPECT_EQ(local.exit_code, 0) << local.err;
}

// A token pb mints for an upstream audience is refused by pbd as a credential; one for pbd's own
// audience (tokens.daemon_audience) or with no aud is accepted.
TEST(DaemonIssuers, UpstreamAudienceTokenIsNoCredential) {
    TempDir dir;
    RunningDaemon pbd(dir);
    const auto admin = pbd.bootstrap_key();
    auto c = pbd.client();
    const auto mint = [&](const json& aud) {
        json body{{"sub", "svc"}, {"claims", {{"permissions", {"keys:read"}}}}};
        if (!aud.is_null()) {
            body["aud"] = aud;
        }
        return body_json(c->Post("/v1/tokens", bearer(admin), body.dump(),
                                 "application/json"))["access_token"]
            .get<std::string>();
    };
    const auto upstream = c->Get("/v1/keys", bearer(mint(json{"api"})));
    EXPECT_EQ(status_of(upstream), 401);
    EXPECT_EQ(body_json(upstream)["reason"], "wrong_audience");
    EXPECT_EQ(auth_status(pbd, mint(json{"api"})), 401);
    EXPECT_EQ(status_of(c->Get("/v1/keys", bearer(mint(json{"api", "pbd"})))), 200);
    EXPECT_EQ(status_of(c->Get("/v1/keys", bearer(mint(nullptr)))), 200);
}

// pbctl tokens issuers add/list/show/update/remove, on the database and with --server; a refused
// add leaves nothing; a tokens:write key cannot trust an issuer with more than it holds; a removal
// by pbctl on the database reaches the running pbd at once.
TEST(DaemonIssuers, PbctlIssuerCommands) {
    TempDir dir;
    RunningDaemon pbd(dir);
    const auto admin = pbd.bootstrap_key();
    const PartnerKey partner(dir, "p-1");
    const auto jwk = partner.jwk_file(dir);
    const std::vector<std::vector<std::string>> modes{{}, {"--server", pbd.url()}};
    const auto cmd = [&](bool remote, std::vector<std::string> args, const std::string& key = "") {
        args.insert(args.begin(), pbctl_path());
        std::map<std::string, std::string> env{{"PB_DB", pbd.db()}};
        if (remote) {
            args.insert(args.begin() + 1, {"--server", pbd.url()});
            env = {{"PB_API_KEY", key.empty() ? admin : key}};
        }
        return run(args, env);
    };
    for (const bool remote : {false, true}) {
        const std::string name = remote ? "remote" : "local";
        const std::string iss = "https://" + name + ".example";
        auto r = cmd(remote, {"tokens", "issuers", "add", name, "--issuer", iss, "--jwk", jwk,
                              "--grant", "states:read", "-o", "json"});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        EXPECT_EQ(json::parse(r.out)["keys"][0]["kid"], "p-1");
        r = cmd(remote, {"tokens", "issuers", "add", name + "-bad", "--issuer", iss + "/x", "--jwk",
                         R"({"kty":"EC"})"});
        EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
        r = cmd(remote, {"tokens", "issuers", "add", name + "-dup", "--issuer", iss, "--jwk", jwk});
        EXPECT_EQ(r.exit_code, 5) << r.out << r.err;
        r = cmd(remote, {"tokens", "issuers", "show", name, "-o", "json"});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        EXPECT_EQ(json::parse(r.out)["grants"], json{"states:read"});
        r = cmd(remote, {"tokens", "issuers", "update", name, "--grant", "keys:read", "--audience",
                         "api", "-o", "json"});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        EXPECT_EQ(json::parse(r.out)["grants"], json{"keys:read"});
        EXPECT_EQ(json::parse(r.out)["audience"], "api");
        r = cmd(remote, {"tokens", "issuers", "show", "nobody"});
        EXPECT_EQ(r.exit_code, 4);
    }
    auto list = cmd(false, {"tokens", "issuers", "list", "-o", "json"});
    ASSERT_EQ(list.exit_code, 0) << list.err;
    EXPECT_EQ(json::parse(list.out)["issuers"].size(), 2U);
    list = cmd(true, {"tokens", "issuers", "list"});
    EXPECT_NE(list.out.find("https://local.example"), std::string::npos) << list.out;

    // A tokens:write key may trust issuers only within what it holds itself.
    const auto made = cmd(false, {"keys", "create", "--owner", "t", "--perm", "tokens:write",
                                  "--perm", "states:read", "-q"});
    auto writer = made.out;
    writer.pop_back();
    auto r = cmd(true,
                 {"tokens", "issuers", "add", "sneaky", "--issuer", "https://sneaky", "--jwk", jwk,
                  "--grant", "admin"},
                 writer);
    EXPECT_EQ(r.exit_code, 6) << r.out << r.err;
    r = cmd(true, {"tokens", "issuers", "update", "local", "--jwk", jwk}, writer);
    EXPECT_EQ(r.exit_code, 6) << r.out << r.err;  // local grants keys:read, which writer lacks
    r = cmd(true,
            {"tokens", "issuers", "add", "fine", "--issuer", "https://fine", "--jwk", jwk,
             "--grant", "states:read"},
            writer);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;

    // Removed by pbctl on the database: the running pbd refuses the issuer's tokens at once.
    const auto token = partner.sign({{"iss", "https://local.example"},
                                     {"sub", "u"},
                                     {"aud", "api"},
                                     {"permissions", {"keys:read"}}});
    EXPECT_EQ(status_of(pbd.client()->Get("/v1/keys", bearer(token))), 200);
    r = cmd(false, {"tokens", "issuers", "remove", "local"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(status_of(pbd.client()->Get("/v1/keys", bearer(token))), 401);
    r = cmd(true, {"tokens", "issuers", "remove", "remote"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    r = cmd(true, {"tokens", "issuers", "remove", "remote"});
    EXPECT_EQ(r.exit_code, 4);
    // tokens keys import is gone.
    r = cmd(false, {"tokens", "keys", "import", jwk});
    EXPECT_EQ(r.exit_code, 2);
}

// pbd names at start each issuer imported before issuers existed (disabled until pinned).
TEST(DaemonIssuers, DisabledIssuersNamedAtStart) {
    TempDir dir;
    { RunningDaemon first(dir); }
    {
        auto store =
            store::open_store(dir.file("pb.db"), {.busy_timeout_ms = 5000, .pool_size = 1});
        store->transaction([](store::Connection& c) {
            c.exec(
                "INSERT INTO token_issuers (name, grants, created_at, updated_at) VALUES "
                "('imported-old', '[]', 1, 1)");
        });
    }
    RunningDaemon pbd(dir, {.args = {"--no-bootstrap"}});
    const auto err = pbd.err();
    EXPECT_NE(err.find("imported-old"), std::string::npos) << err;
    EXPECT_NE(err.find("is disabled (imported before issuers existed)"), std::string::npos) << err;
}

}  // namespace
}  // namespace pb::test
