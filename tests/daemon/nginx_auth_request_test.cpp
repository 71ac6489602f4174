// End to end: a real nginx from Debian in front of a test backend, asking pbd's
// /v1/auth through auth_request on every request.
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "tests/daemon/daemon_fixture.hpp"

namespace pb::test {
namespace {

// The README's nginx recipe, as an operator copies it: the ```nginx block that
// holds `location = /_pb_auth`, with its pbd and app addresses replaced.
std::string readme_recipe(int pbd, int backend) {
    const auto readme = read_file(std::string(PB_SOURCE_DIR) + "/README.md");
    const auto at = readme.find("```nginx\nlocation = /_pb_auth {");
    EXPECT_NE(at, std::string::npos) << "README.md has no nginx auth_request recipe";
    const auto start = readme.find('\n', at) + 1;
    auto block = readme.substr(start, readme.find("```", start) - start);
    const auto swap = [&](const std::string& from, const std::string& to) {
        const auto pos = block.find(from);
        EXPECT_NE(pos, std::string::npos) << from;
        block.replace(pos, from.size(), to);
    };
    swap("127.0.0.1:8700", "127.0.0.1:" + std::to_string(pbd));
    swap("127.0.0.1:9000", "127.0.0.1:" + std::to_string(backend) + "/");
    return block;
}

std::string nginx_conf(const TempDir& dir, int front, int backend, int pbd) {
    const auto d = dir.path().string();
    const auto p = [](int n) { return std::to_string(n); };
    return "daemon off;\nworker_processes 1;\npid " + d + "/nginx.pid;\nerror_log " + d +
           "/nginx.err;\nevents { worker_connections 64; }\nhttp {\n access_log off;\n"
           " client_body_temp_path " +
           d + "/t1; proxy_temp_path " + d + "/t2; fastcgi_temp_path " + d +
           "/t3; uwsgi_temp_path " + d + "/t4; scgi_temp_path " + d +
           "/t5;\n"
           " server { listen 127.0.0.1:" +
           p(backend) +
           "; location = /boom { return 500 \"the app failed\"; }"
           " location = /token { return 200 \"$http_x_pb_identity_token\"; }"
           " location / { return 200 \"app says hello to $http_x_pb_owner "
           "($http_x_pb_key_id: $http_x_pb_permissions)\"; } }\n"
           " server {\n  listen 127.0.0.1:" +
           p(front) + ";\n" + readme_recipe(pbd, backend) + " }\n}\n";
}

// nginx in front of the app and `pbd`, with the README's recipe; null (and
// the test failed) when nginx does not answer.
std::unique_ptr<Process> start_nginx(const TempDir& dir, const RunningDaemon& pbd, int front) {
    const int backend = free_port();
    { std::ofstream(dir.file("nginx.conf")) << nginx_conf(dir, front, backend, pbd.port()); }
    auto proxy = std::make_unique<Process>(
        std::vector<std::string>{"/usr/sbin/nginx", "-p", dir.path().string(), "-c",
                                 dir.file("nginx.conf")},
        std::map<std::string, std::string>{}, dir.file("nginx.out"), dir.file("nginx.stderr"));
    httplib::Client web("127.0.0.1", front);
    for (int i = 0; i < 200; ++i) {
        if (web.Get("/app/")) {
            return proxy;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    ADD_FAILURE() << "nginx did not start: " << read_file(dir.file("nginx.err"));
    return nullptr;
}

// nginx auth_request through pbd, configured by the README's recipe: no key 401,
// a good key reaches the app with who it is, a banned client 403, a limited one
// 429 with Retry-After (not nginx's 500), and the app's own 500 untouched.
TEST(NginxAuthRequest, PbGuardsAnAppBehindNginx) {
    const std::string nginx = "/usr/sbin/nginx";
    if (!std::filesystem::exists(nginx)) {
        GTEST_SKIP() << "nginx is not installed (scripts/install-deps.sh installs nginx-light)";
    }
    TempDir dir;
    DaemonOptions o;
    o.env = {{"PB_BANS_ALLOW", ""}, {"PB_LIMITS_IP_RATE", "off"}};
    RunningDaemon pbd(dir, o);
    const auto admin = pbd.bootstrap_key();
    auto c = pbd.client();
    const auto created = body_json(
        c->Post("/v1/keys", bearer(admin),
                R"({"owner":"billing-svc","permissions":["deploy:write"]})", "application/json"));
    const auto key = created["key"].get<std::string>();

    const int front = free_port();
    const int backend = free_port();
    { std::ofstream(dir.file("nginx.conf")) << nginx_conf(dir, front, backend, pbd.port()); }
    Process proxy({nginx, "-p", dir.path().string(), "-c", dir.file("nginx.conf")}, {},
                  dir.file("nginx.out"), dir.file("nginx.stderr"));
    httplib::Client web("127.0.0.1", front);
    web.set_connection_timeout(5, 0);
    web.set_read_timeout(5, 0);
    httplib::Result first{nullptr, httplib::Error::Unknown};
    for (int i = 0; i < 200 && !first; ++i) {
        first = web.Get("/app/");
        if (!first) {
            std::this_thread::sleep_for(std::chrono::milliseconds(25));
        }
    }
    ASSERT_TRUE(first) << "nginx did not start: " << read_file(dir.file("nginx.err"));
    EXPECT_EQ(first->status, 401);

    const auto ok = web.Get("/app/", bearer(key));
    ASSERT_EQ(status_of(ok), 200);
    EXPECT_EQ(ok->body, "app says hello to billing-svc (" + created["id"].get<std::string>() +
                            ": deploy:write)");
    EXPECT_EQ(status_of(web.Get("/app/", bearer(key + "x"))), 401);

    const auto ban = run({pbctl_path(), "bans", "add", "203.0.113.7"}, {{"PB_DB", pbd.db()}});
    ASSERT_EQ(ban.exit_code, 0) << ban.err;
    auto headers = bearer(key);
    headers.emplace("X-Forwarded-For", "203.0.113.7");
    EXPECT_EQ(status_of(web.Get("/app/", headers)), 403);
    headers = bearer(key);
    headers.emplace("X-Forwarded-For", "198.51.100.9");
    EXPECT_EQ(status_of(web.Get("/app/", headers)), 200);

    // The app's own 500 reaches the client as the app said it.
    const auto boom = web.Get("/app/boom", bearer(key));
    EXPECT_EQ(status_of(boom), 500);
    EXPECT_EQ(boom->body, "the app failed");

    // Over the key's own limit pb answers 429: the client gets 429 with
    // pb's Retry-After, not nginx's 500.
    const auto limit = run(
        {pbctl_path(), "keys", "update", created["id"].get<std::string>(), "--rate-limit", "1/min"},
        {{"PB_DB", pbd.db()}});
    ASSERT_EQ(limit.exit_code, 0) << limit.err;
    httplib::Result limited{nullptr, httplib::Error::Unknown};
    for (int i = 0; i < 5 && status_of(limited) != 429; ++i) {
        limited = web.Get("/app/", bearer(key));
    }
    ASSERT_EQ(status_of(limited), 429) << (limited ? limited->body : "no answer");
    const auto retry_after = limited->get_header_value("Retry-After");
    EXPECT_FALSE(retry_after.empty());
    EXPECT_GT(std::stoi(retry_after), 0);
}

// The README's recipe with gate.identity_token on: the app receives pb's
// identity token and verifies it as any app would, with PyJWT against pb's
// JWKS (signature, issuer, audience, expiry), and learns the caller from it;
// a header the client made up never reaches the app in its place.
TEST(NginxAuthRequest, AppVerifiesPbsIdentityToken) {
    if (!std::filesystem::exists("/usr/sbin/nginx")) {
        GTEST_SKIP() << "nginx is not installed (scripts/install-deps.sh installs nginx-light)";
    }
    TempDir dir;
    DaemonOptions o;
    o.env = {{"PB_LIMITS_IP_RATE", "off"},
             {"PB_GATE_IDENTITY_TOKEN", "true"},
             {"PB_GATE_IDENTITY_AUDIENCE", "billing-app"}};
    RunningDaemon pbd(dir, o);
    auto c = pbd.client();
    const auto created = body_json(
        c->Post("/v1/keys", bearer(pbd.bootstrap_key()),
                R"({"owner":"billing-svc","permissions":["deploy:write"]})", "application/json"));
    const auto key = created["key"].get<std::string>();
    const int front = free_port();
    const auto proxy = start_nginx(dir, pbd, front);
    ASSERT_TRUE(proxy);
    httplib::Client web("127.0.0.1", front);
    web.set_read_timeout(5, 0);

    auto headers = bearer(key);
    headers.emplace("X-PB-Identity-Token", "forged.by.client");
    const auto got = web.Get("/app/token", headers);
    ASSERT_EQ(status_of(got), 200);
    const auto token = got->body;
    ASSERT_NE(token, "forged.by.client");
    const auto verify = [&](const std::string& audience) {
        return run(
            {"/usr/bin/python3", std::string(PB_SOURCE_DIR) + "/tests/daemon/identity_verify.py",
             pbd.url() + "/.well-known/jwks.json", "pb", audience},
            {}, token);
    };
    const auto verified = verify("billing-app");
    ASSERT_EQ(verified.exit_code, 0) << verified.err << "token: " << token;
    const auto claims = nlohmann::json::parse(verified.out)["claims"];
    EXPECT_EQ(claims["sub"], "billing-svc");
    EXPECT_EQ(claims["key_id"], created["id"]);
    EXPECT_EQ(claims["permissions"], nlohmann::json({"deploy:write"}));
    EXPECT_EQ(claims["token_use"], "identity");
    // The app's verifier is no rubber stamp: another audience is refused.
    const auto other = verify("another-app");
    EXPECT_EQ(other.exit_code, 1);
    EXPECT_NE(other.err.find("InvalidAudience"), std::string::npos) << other.err;
    // Without a credential nginx lets nothing through, forged token or not.
    EXPECT_EQ(status_of(web.Get("/app/token", {{"X-PB-Identity-Token", token}})), 401);
}

}  // namespace
}  // namespace pb::test
