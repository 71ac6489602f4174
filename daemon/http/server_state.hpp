#pragma once
// Private to the HTTP server, its connections and the WebSocket sessions they
// hand sockets to: the files that include Boost.Asio and Boost.Beast.

#include <atomic>
#include <memory>
#include <optional>
#include <thread>
#include <unordered_set>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "daemon/http/redis_pipe.hpp"
#include "daemon/http/server.hpp"

namespace pb::daemon {
class WsHub;
}

namespace pb::daemon::http_detail {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
// Sockets bound to one io_context's executor directly: no type-erased
// executor copies on every operation.
using Executor = asio::io_context::executor_type;
using Socket = asio::basic_stream_socket<tcp, Executor>;

class Connection;

// One thread with its own io_context and the connections it serves.
struct Worker {
    // Touched only on this worker's thread (or after it has stopped); declared
    // before the io_context so it outlives the handlers the context destroys.
    std::unordered_set<Connection*> connections;
    asio::io_context ioc{1};
    asio::executor_work_guard<Executor> guard{ioc.get_executor()};
    // This thread's non-blocking Redis connection (ServerOptions::redis), or
    // nullptr; declared after the io_context, so destroyed before it.
    std::unique_ptr<RedisPipe> redis;
    std::thread thread;
};

// What the acceptor and every connection share.
struct ServerState {
    ServerState(Router& r, Metrics& m, ServerOptions o)
        : router(r), metrics(m), options(std::move(o)) {}

    // Accepts the next connection onto the next worker, round robin, forever.
    void accept();

    Router& router;
    Metrics& metrics;
    const ServerOptions options;
    WsHub* websocket = nullptr;  // WebSocket on /ws when set (before start)
    std::atomic<bool> draining{false};
    std::vector<std::unique_ptr<Worker>> workers;
    // Both live on workers[0]'s thread.
    std::optional<tcp::acceptor> acceptor;
    std::optional<asio::steady_timer> accept_retry;
    std::size_t next_worker = 0;
};

// Whether the server had room for one more connection when it accepted it.
enum class Load { normal, overloaded };

// Serves `socket` on `worker`'s thread until the peer or the server closes it.
// An overloaded connection is answered 503 and closed. Call from any thread.
void serve(ServerState& server, Worker& worker, Socket socket, Load load);

// Closes `worker`'s idle connections and makes busy ones close after their
// answer. Runs on the worker's thread.
void drain(Worker& worker);

}  // namespace pb::daemon::http_detail
