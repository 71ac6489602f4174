#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/daemon/daemon_fixture.hpp"

namespace pb::test {
namespace {

using nlohmann::json;

// Pins: GET /health is the health op, answering 200 with the database ok.
TEST(DaemonEndpoints, HealthReportsTheDatabase) {
    TempDir dir;
    RunningDaemon pbd(dir);
    const auto res = pbd.client()->Get("/health");
    ASSERT_EQ(status_of(res), 200);
    EXPECT_EQ(body_json(res)["status"], "ok");
    EXPECT_EQ(body_json(res)["components"]["db"]["status"], "ok");
}

// Pins: GET /ready answers 200 {"status":"ready"} while serving.
TEST(DaemonEndpoints, ReadyWhileServing) {
    TempDir dir;
    RunningDaemon pbd(dir);
    const auto res = pbd.client()->Get("/ready");
    ASSERT_EQ(status_of(res), 200);
    EXPECT_EQ(body_json(res), json({{"status", "ready"}}));
}

// Pins: /metrics is Prometheus text with per-route request counts (labelled
// by route pattern), the duration histogram, connections and build info.
TEST(DaemonEndpoints, MetricsCountRequestsByRoute) {
    TempDir dir;
    RunningDaemon pbd(dir);
    auto client = pbd.client();
    for (int i = 0; i < 3; ++i) {
        client->Post("/v1/keys/verify", R"({"key":"pb_nope"})", "application/json");
    }
    client->Get("/v1/keys/someid", bearer(pbd.bootstrap_key()));
    const auto res = client->Get("/metrics");
    ASSERT_EQ(status_of(res), 200);
    EXPECT_EQ(res->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
    const auto& text = res->body;
    EXPECT_NE(
        text.find(
            R"(pb_http_requests_total{route="/v1/keys/verify",method="POST",status="200"} 3)"),
        std::string::npos)
        << text;
    EXPECT_NE(
        text.find(R"(pb_http_requests_total{route="/v1/keys/{id}",method="GET",status="404"} 1)"),
        std::string::npos)
        << text;
    EXPECT_NE(
        text.find(
            R"(pb_http_request_duration_seconds_bucket{route="/v1/keys/verify",method="POST",le="+Inf"} 3)"),
        std::string::npos)
        << text;
    // This connection at least (earlier ones may still be closing).
    EXPECT_TRUE(std::regex_search(text, std::regex("\npb_http_connections_active [1-9]"))) << text;
    EXPECT_NE(text.find("pb_db_errors_total 0"), std::string::npos) << text;
    EXPECT_NE(text.find("pb_build_info{version=\""), std::string::npos) << text;
}

// Pins: beyond server.max_connections a new connection is answered 503.
TEST(DaemonEndpoints, RefusesConnectionsBeyondTheLimit) {
    TempDir dir;
    RunningDaemon pbd(dir, {.env = {{"PB_MAX_CONNECTIONS", "1"}}});
    auto first = pbd.client();
    first->set_keep_alive(true);
    ASSERT_EQ(status_of(first->Get("/ready")), 200);  // holds the only slot
    const auto second = pbd.client()->Get("/ready");
    EXPECT_EQ(status_of(second), 503);
    EXPECT_EQ(body_json(second)["code"], "unavailable");
    EXPECT_EQ(status_of(first->Get("/ready")), 200);
}

// Pins: a connection that stays idle longer than server.idle_timeout is closed.
TEST(DaemonEndpoints, ClosesIdleConnections) {
    TempDir dir;
    RunningDaemon pbd(dir, {.env = {{"PB_IDLE_TIMEOUT", "300ms"}}});
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(pbd.port()));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    const auto start = std::chrono::steady_clock::now();
    pollfd p{fd, POLLIN, 0};
    ASSERT_EQ(poll(&p, 1, 5000), 1) << "not closed within 5 s";
    char c = 0;
    EXPECT_EQ(recv(fd, &c, 1, 0), 0) << "expected the server to close";
    const auto waited = std::chrono::steady_clock::now() - start;
    EXPECT_GE(waited, std::chrono::milliseconds(250));
    EXPECT_LT(waited, std::chrono::seconds(3));
    close(fd);
}

// Pins: SIGTERM stops pbd promptly with exit 0, even with an open keep-alive
// connection.
TEST(DaemonEndpoints, SigtermExitsCleanly) {
    TempDir dir;
    RunningDaemon pbd(dir);
    auto client = pbd.client();
    client->set_keep_alive(true);
    ASSERT_EQ(status_of(client->Get("/ready")), 200);
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(pbd.process().signal_and_wait(SIGTERM, std::chrono::seconds(5)), 0) << pbd.err();
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3)) << pbd.err();
    EXPECT_NE(pbd.err().find("stopped"), std::string::npos) << pbd.err();
}

// Pins: --check-config prints OK for a good configuration and exits 2 for a
// bad one, without opening the database.
TEST(DaemonEndpoints, CheckConfig) {
    TempDir dir;
    const auto ok = run({pbd_path(), "--check-config", "--db", dir.file("pb.db")}, {});
    EXPECT_EQ(ok.exit_code, 0) << ok.err;
    EXPECT_EQ(ok.out, "OK\n");
    const auto bad = run({pbd_path(), "--check-config"}, {{"PB_LISTEN", "nowhere"}});
    EXPECT_EQ(bad.exit_code, 2);
    EXPECT_NE(bad.err.find("server.listen"), std::string::npos) << bad.err;
    EXPECT_FALSE(std::filesystem::exists(dir.file("pb.db")));
}

}  // namespace
}  // namespace pb::test
