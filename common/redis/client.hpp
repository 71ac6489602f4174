#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/core/config.hpp"
#include "common/redis/connection.hpp"

namespace pb::redis {

// The client's settings, from redis.* (see client_options_from_config).
struct ClientOptions {
    ConnectOptions connect;
    int pool_size = 8;
    // After a failed connect, new ones wait 100 ms, then twice as long each
    // time, up to this; meanwhile calls fail at once rather than each waiting
    // for a connect timeout.
    std::chrono::milliseconds backoff_max{2000};
    // Keys and channels are named under this prefix ("pb:"), so one Redis can
    // serve several pb installations (or other programs).
    std::string prefix = "pb:";
};

// Reads redis.url, redis.password, redis.pool_size, redis.timeout,
// redis.connect_timeout and redis.prefix. Error(invalid_argument) naming the
// setting.
ClientOptions client_options_from_config(const Config& config);

// A Lua script run with EVALSHA; its SHA-1 is computed here, so the first
// call needs no SCRIPT LOAD, and a server that lost it (restart, SCRIPT
// FLUSH) gets it again on NOSCRIPT.
class Script {
  public:
    explicit Script(std::string source);
    const std::string& source() const { return m_source; }
    const std::string& sha() const { return m_sha; }

  private:
    std::string m_source;
    std::string m_sha;
};

// A pool of connections to one Redis, shared by threads. A call takes an idle
// connection (or opens one, up to pool_size), and a connection that failed is
// closed and replaced on a later call. While Redis is unreachable, calls fail
// at once with Error(unavailable) and reconnects back off exponentially, so a
// Redis outage costs callers nothing but the failure, and the client recovers
// by itself. Thread-safe.
class Client {
  public:
    explicit Client(ClientOptions options);
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    using Args = std::span<const std::string_view>;

    // One command and its reply; an error reply is returned (is_error()).
    // Error(unavailable) when Redis cannot be reached or does not answer within
    // redis.timeout.
    Reply exec(Args args);
    Reply exec(std::initializer_list<std::string_view> args) {
        return exec(Args(args.begin(), args.size()));
    }
    // exec(), with an error reply thrown: Error(unavailable) for "not now"
    // replies (LOADING, NOAUTH, …), Error(internal) for the rest.
    Reply command(Args args);
    Reply command(std::initializer_list<std::string_view> args) {
        return command(Args(args.begin(), args.size()));
    }
    // Several commands in one write, their replies in order (error replies
    // included). Error(unavailable).
    std::vector<Reply> pipeline(const std::vector<std::vector<std::string>>& commands);
    // EVALSHA `script` with `keys` then `args`, loading the script on
    // NOSCRIPT; error replies thrown as by command().
    Reply eval(const Script& script, Args keys, Args args);

    // A connection outside the pool (the subscriber's own). Error(unavailable).
    std::unique_ptr<Connection> connect() const;

    // {"status":"ok","location","latency_ms","version","mode"} from a timed
    // PING and INFO server; {"status":"unavailable","error"} when down.
    nlohmann::json health();

    const ClientOptions& options() const { return m_options; }
    // "127.0.0.1:6379/0": no password.
    const std::string& location() const { return m_location; }
    // Prefix + name: the key or channel name pb uses for `name`.
    std::string key(std::string_view name) const { return m_options.prefix + std::string(name); }

    // Counters for /metrics.
    bool up() const { return m_up.load(std::memory_order_relaxed); }
    std::uint64_t errors() const { return m_errors.load(std::memory_order_relaxed); }
    std::uint64_t connect_failures() const {
        return m_connect_failures.load(std::memory_order_relaxed);
    }

    // For connections to the same Redis kept outside the pool (pbd's
    // non-blocking ones): counted and logged as the pool's own calls.
    void note_failure(const std::exception& e);
    void note_success();

  private:
    std::unique_ptr<Connection> acquire();
    void release(std::unique_ptr<Connection> connection);

    const ClientOptions m_options;
    const std::string m_location;

    std::mutex m_mutex;
    std::condition_variable m_cv;
    std::vector<std::unique_ptr<Connection>> m_idle;  // guarded by m_mutex
    int m_open = 0;                                   // idle + in use; guarded by m_mutex
    std::chrono::steady_clock::time_point m_retry_at{};
    std::chrono::milliseconds m_backoff{0};

    std::atomic<bool> m_up{true};
    std::atomic<std::uint64_t> m_errors{0};
    std::atomic<std::uint64_t> m_connect_failures{0};
};

}  // namespace pb::redis
