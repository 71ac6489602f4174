#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "daemon/http/router.hpp"
#include "daemon/metrics/metrics.hpp"

namespace pb::daemon {

class WsHub;

}  // namespace pb::daemon
namespace pb::redis {
class Client;
}
namespace pb::daemon {

struct ServerOptions {
    std::string listen = "127.0.0.1:8700";  // host:port; port 0 picks a free one
    int threads = 1;
    std::uint64_t max_body = 1 << 20;
    std::uint32_t max_header = 16384;
    std::chrono::milliseconds idle_timeout{60'000};
    std::int64_t max_connections = 10'000;
    // Redis, when the limits live there: each worker thread then asks it
    // without blocking (must outlive the server; nullptr: no Redis).
    redis::Client* redis = nullptr;
};

// Splits "host:port" (or "[v6]:port"); Error(invalid_argument) when it is not one.
struct ListenAddress {
    std::string host;
    std::uint16_t port = 0;
};
ListenAddress parse_listen(const std::string& listen);

// pbd's HTTP/1.1 listener (Boost.Beast behind this header). One thread per
// io_context, `threads` of them; one acceptor hands accepted connections to
// them in turn, so a connection lives on one thread and needs no strand.
// Requests are answered by the Router, in order, with keep-alive.
class HttpServer {
  public:
    // `router` and `metrics` must outlive the server.
    HttpServer(Router& router, Metrics& metrics, ServerOptions options);
    // Stops (as stop() with no grace) if still running.
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    // Serves WebSocket upgrades on /ws with `hub` (which must outlive the
    // server). Call before start().
    void enable_websocket(WsHub& hub);

    // Binds, listens and starts the worker threads; returns the bound port.
    // Throws Error(unavailable) when it cannot listen, Error(invalid_argument)
    // for a bad address.
    std::uint16_t start();

    // Stops accepting, closes idle connections, lets requests in progress be
    // answered (then closes their connections), waits up to `grace` for that,
    // closes what is left and joins the threads. Call once, from one thread.
    void stop(std::chrono::milliseconds grace);

  private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

}  // namespace pb::daemon
