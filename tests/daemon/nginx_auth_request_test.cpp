// End to end: a real nginx from Debian in front of a test backend, asking pbd's
// /v1/auth through auth_request on every request.
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "tests/daemon/daemon_fixture.hpp"

namespace pb::test {
namespace {

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
           "; location / { return 200 \"app says hello to $http_x_pb_owner\"; } }\n"
           " server {\n  listen 127.0.0.1:" +
           p(front) +
           ";\n"
           "  location = /_pb_auth {\n   internal;\n   proxy_pass http://127.0.0.1:" +
           p(pbd) +
           "/v1/auth;\n   proxy_pass_request_body off;\n   proxy_set_header Content-Length \"\";\n"
           "   proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n  }\n"
           "  location /app/ {\n   auth_request /_pb_auth;\n"
           "   auth_request_set $pb_owner $upstream_http_x_pb_owner;\n"
           "   proxy_set_header X-PB-Owner $pb_owner;\n   proxy_pass http://127.0.0.1:" +
           p(backend) + "/;\n  }\n }\n}\n";
}

// nginx auth_request through pbd: no key 401, a good key reaches the app with its owner, a banned
// client 403.
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
        c->Post("/v1/keys", bearer(admin), R"({"owner":"billing-svc"})", "application/json"));
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
    EXPECT_EQ(ok->body, "app says hello to billing-svc");
    EXPECT_EQ(status_of(web.Get("/app/", bearer(key + "x"))), 401);

    const auto ban = run({pbctl_path(), "bans", "add", "203.0.113.7"}, {{"PB_DB", pbd.db()}});
    ASSERT_EQ(ban.exit_code, 0) << ban.err;
    auto headers = bearer(key);
    headers.emplace("X-Forwarded-For", "203.0.113.7");
    EXPECT_EQ(status_of(web.Get("/app/", headers)), 403);
    headers = bearer(key);
    headers.emplace("X-Forwarded-For", "198.51.100.9");
    EXPECT_EQ(status_of(web.Get("/app/", headers)), 200);
}

}  // namespace
}  // namespace pb::test
