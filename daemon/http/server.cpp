// The listener and the worker threads; connections are in connection.cpp.
#include "daemon/http/server.hpp"

#include <charconv>
#include <pthread.h>

#include <boost/asio/post.hpp>

#include "common/core/error.hpp"
#include "common/core/log.hpp"
#include "common/runtime/op_table.hpp"
#include "daemon/http/server_state.hpp"
#include "daemon/ws/session.hpp"

namespace pb::daemon {
namespace http_detail {
namespace {

using boost::system::error_code;

const std::shared_ptr<spdlog::logger>& logger() {
    static const auto l = log::get("daemon.http");
    return l;
}

}  // namespace

void ServerState::accept() {
    auto& worker = *workers[next_worker++ % workers.size()];
    acceptor->async_accept(
        worker.ioc.get_executor(), [this, &worker](error_code ec, Socket socket) {
            if (ec == asio::error::operation_aborted || !acceptor->is_open()) {
                return;
            }
            if (ec) {
                // Out of file descriptors, most likely: pause rather than spin.
                logger()->warn("accept failed: {}", ec.message());
                accept_retry->expires_after(std::chrono::milliseconds(100));
                accept_retry->async_wait([this](error_code tec) {
                    if (!tec) {
                        accept();
                    }
                });
                return;
            }
            const auto load =
                metrics.connections() >= options.max_connections ? Load::overloaded : Load::normal;
            serve(*this, worker, std::move(socket), load);
            accept();
        });
}

}  // namespace http_detail

using namespace http_detail;
using boost::system::error_code;

ListenAddress parse_listen(const std::string& listen) {
    const auto bad = [&listen](const std::string& why) {
        return Error(ErrorCode::invalid_argument,
                     "server.listen: expected host:port, got \"" + listen + "\" (" + why + ")",
                     {{"key", "server.listen"}});
    };
    const auto colon = listen.rfind(':');
    if (colon == std::string::npos || colon == 0) {
        throw bad("no host or no port");
    }
    ListenAddress out;
    out.host = listen.substr(0, colon);
    if (out.host.front() == '[' && out.host.back() == ']') {
        out.host = out.host.substr(1, out.host.size() - 2);
    } else if (out.host.find(':') != std::string::npos) {
        throw bad("write an IPv6 address in brackets");
    }
    const auto port = std::string_view(listen).substr(colon + 1);
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535) {
        throw bad("the port must be a number from 0 to 65535");
    }
    if (out.host.empty()) {
        throw bad("empty host");
    }
    out.port = static_cast<std::uint16_t>(value);
    return out;
}

struct HttpServer::Impl : ServerState {
    using ServerState::ServerState;
    bool started = false;
    bool stopped = false;
};

HttpServer::HttpServer(Router& router, Metrics& metrics, ServerOptions options)
    : m_impl(std::make_unique<Impl>(router, metrics, std::move(options))) {}

HttpServer::~HttpServer() {
    stop(std::chrono::milliseconds(0));
}

void HttpServer::enable_websocket(WsHub& hub) {
    http_detail::WsSession::check_bindings(runtime::op_table());
    m_impl->websocket = &hub;
}

std::uint16_t HttpServer::start() {
    auto& s = *m_impl;
    const auto address = parse_listen(s.options.listen);
    const int threads = std::max(1, s.options.threads);
    for (int i = 0; i < threads; ++i) {
        s.workers.push_back(std::make_unique<Worker>());
        if (s.options.redis != nullptr) {
            auto& w = *s.workers.back();
            w.redis = std::make_unique<RedisPipe>(w.ioc, *s.options.redis);
            if (!w.redis->usable()) {
                w.redis.reset();
            }
        }
    }
    auto& ioc = s.workers.front()->ioc;
    tcp::endpoint endpoint;
    try {
        tcp::resolver resolver(ioc);
        const auto found =
            resolver.resolve(address.host, std::to_string(address.port),
                             tcp::resolver::passive | tcp::resolver::numeric_service);
        if (found.empty()) {
            throw Error(ErrorCode::invalid_argument,
                        "server.listen: no address for " + address.host);
        }
        endpoint = found.begin()->endpoint();
    } catch (const boost::system::system_error& e) {
        throw Error(ErrorCode::invalid_argument,
                    "server.listen: cannot resolve \"" + address.host + "\": " + e.code().message(),
                    {{"key", "server.listen"}});
    }
    try {
        s.acceptor.emplace(ioc);
        s.acceptor->open(endpoint.protocol());
        s.acceptor->set_option(asio::socket_base::reuse_address(true));
        s.acceptor->bind(endpoint);
        s.acceptor->listen(asio::socket_base::max_listen_connections);
    } catch (const boost::system::system_error& e) {
        s.acceptor.reset();
        s.workers.clear();
        throw Error(ErrorCode::unavailable,
                    "cannot listen on " + s.options.listen + ": " + e.code().message(),
                    {{"listen", s.options.listen}});
    }
    const auto port = s.acceptor->local_endpoint().port();
    s.accept_retry.emplace(ioc);
    s.accept();
    for (std::size_t i = 0; i < s.workers.size(); ++i) {
        auto& w = *s.workers[i];
        w.thread = std::thread([&w, i] {
            const auto name = "pbd-http-" + std::to_string(i);
            pthread_setname_np(pthread_self(), name.c_str());
            for (;;) {
                try {
                    w.ioc.run();
                    return;
                } catch (const std::exception& e) {
                    logger()->error("worker {}: unexpected failure: {}", i, e.what());
                }
            }
        });
    }
    s.started = true;
    return port;
}

void HttpServer::stop(std::chrono::milliseconds grace) {
    auto& s = *m_impl;
    if (!s.started || s.stopped) {
        return;
    }
    s.stopped = true;
    s.draining.store(true);
    asio::post(s.workers.front()->ioc, [&s] {
        error_code ec;
        s.acceptor->close(ec);
        s.accept_retry->cancel();
    });
    // Idle connections close at once; busy ones close after their answer.
    // Repeated, for connections that were between two states the first time.
    const auto drain_all = [&s] {
        for (auto& w : s.workers) {
            asio::post(w->ioc, [&worker = *w] { drain(worker); });
        }
    };
    const auto deadline = std::chrono::steady_clock::now() + grace;
    auto next_drain = std::chrono::steady_clock::now();
    while (s.metrics.connections() > 0 && std::chrono::steady_clock::now() < deadline) {
        if (std::chrono::steady_clock::now() >= next_drain) {
            drain_all();
            next_drain += std::chrono::milliseconds(100);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (s.metrics.connections() > 0) {
        logger()->warn("closing {} connection(s) still open after the shutdown grace period",
                       s.metrics.connections());
    }
    for (auto& w : s.workers) {
        w->guard.reset();
        w->ioc.stop();
    }
    for (auto& w : s.workers) {
        if (w->thread.joinable()) {
            w->thread.join();
        }
    }
    // The acceptor and timer belong to workers[0]'s context: destroy them first.
    s.accept_retry.reset();
    s.acceptor.reset();
    s.workers.clear();
}

}  // namespace pb::daemon
