#include "common/redis/client.hpp"

#include <openssl/evp.h>

#include "common/core/crypto.hpp"
#include "common/core/error.hpp"
#include "common/core/log.hpp"

namespace pb::redis {
namespace {

constexpr std::chrono::milliseconds k_backoff_min{100};

const std::shared_ptr<spdlog::logger>& logger() {
    static const auto l = log::get("redis");
    return l;
}

std::chrono::milliseconds positive_ms(const Config& config, std::string_view key) {
    const auto ms = config.get_duration_ms(key);
    if (ms <= 0) {
        throw Error(ErrorCode::invalid_argument, std::string(key) + ": must be longer than 0",
                    {{"key", key}});
    }
    return std::chrono::milliseconds(ms);
}

std::string sha1_hex(std::string_view text) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha1(), nullptr) != 1) {
        throw Error(ErrorCode::internal, "SHA-1 of a Redis script failed");
    }
    return crypto::to_hex(digest, size);
}

[[noreturn]] void throw_reply(const Reply& r, const std::string& location) {
    throw Error(is_unavailable_reply(r) ? ErrorCode::unavailable : ErrorCode::internal,
                "redis at " + location + ": " + r.str, {{"redis", location}});
}

}  // namespace

ClientOptions client_options_from_config(const Config& config) {
    ClientOptions o;
    o.connect.url = parse_redis_url(config.get("redis.url"));
    if (const auto& password = config.get("redis.password"); !password.empty()) {
        o.connect.url.password = password;
    }
    o.connect.command_timeout = positive_ms(config, "redis.timeout");
    o.connect.connect_timeout = positive_ms(config, "redis.connect_timeout");
    const auto pool = config.get_int("redis.pool_size");
    if (pool < 1 || pool > 1024) {
        throw Error(ErrorCode::invalid_argument, "redis.pool_size: must be from 1 to 1024",
                    {{"key", "redis.pool_size"}});
    }
    o.pool_size = static_cast<int>(pool);
    o.prefix = config.get("redis.prefix");
    return o;
}

Script::Script(std::string source) : m_source(std::move(source)), m_sha(sha1_hex(m_source)) {}

Client::Client(ClientOptions options)
    : m_options(std::move(options)), m_location(m_options.connect.url.location()) {}

Client::~Client() = default;

std::unique_ptr<Connection> Client::connect() const {
    return std::make_unique<Connection>(m_options.connect);
}

void Client::note_failure(const std::exception& e) {
    m_errors.fetch_add(1, std::memory_order_relaxed);
    if (m_up.exchange(false, std::memory_order_relaxed)) {
        logger()->warn("redis unavailable: {}; retrying in the background", e.what());
    }
}

void Client::note_success() {
    if (!m_up.exchange(true, std::memory_order_relaxed)) {
        logger()->info("redis at {} is reachable again", m_location);
    }
}

std::unique_ptr<Connection> Client::acquire() {
    std::unique_lock lock(m_mutex);
    const bool ready = m_cv.wait_for(lock, m_options.connect.command_timeout, [this] {
        return !m_idle.empty() || m_open < m_options.pool_size;
    });
    if (!ready) {
        throw Error(ErrorCode::unavailable,
                    "redis at " + m_location + ": all " + std::to_string(m_options.pool_size) +
                        " connections stayed busy for " +
                        std::to_string(m_options.connect.command_timeout.count()) + " ms",
                    {{"redis", m_location}});
    }
    if (!m_idle.empty()) {
        auto c = std::move(m_idle.back());
        m_idle.pop_back();
        return c;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now < m_retry_at) {
        const auto wait =
            std::chrono::duration_cast<std::chrono::milliseconds>(m_retry_at - now).count();
        throw Error(ErrorCode::unavailable,
                    "redis at " + m_location + " is unreachable (next attempt in " +
                        std::to_string(wait) + " ms)",
                    {{"redis", m_location}});
    }
    if (m_backoff.count() > 0) {
        // Whoever tries first after a failure pushes the next attempt back, so
        // other callers fail at once instead of queueing on a dead server.
        m_retry_at = now + std::min(m_backoff * 2, m_options.backoff_max);
    }
    ++m_open;
    lock.unlock();
    try {
        auto c = connect();
        lock.lock();
        m_backoff = std::chrono::milliseconds(0);
        return c;
    } catch (const std::exception& e) {
        lock.lock();
        --m_open;
        m_backoff =
            m_backoff.count() == 0 ? k_backoff_min : std::min(m_backoff * 2, m_options.backoff_max);
        m_retry_at = std::chrono::steady_clock::now() + m_backoff;
        lock.unlock();
        m_cv.notify_one();
        note_failure(e);
        m_connect_failures.fetch_add(1, std::memory_order_relaxed);
        throw;
    }
}

void Client::release(std::unique_ptr<Connection> connection) {
    {
        std::lock_guard lock(m_mutex);
        if (connection->broken()) {
            --m_open;
        } else {
            m_idle.push_back(std::move(connection));
        }
    }
    m_cv.notify_one();
}

Reply Client::exec(Args args) {
    auto c = acquire();
    try {
        auto reply = c->call(args);
        release(std::move(c));
        note_success();
        return reply;
    } catch (const std::exception& e) {
        release(std::move(c));
        note_failure(e);
        throw;
    }
}

Reply Client::command(Args args) {
    auto reply = exec(args);
    if (reply.is_error()) {
        throw_reply(reply, m_location);
    }
    return reply;
}

std::vector<Reply> Client::pipeline(const std::vector<std::vector<std::string>>& commands) {
    std::vector<Reply> replies;
    if (commands.empty()) {
        return replies;
    }
    auto c = acquire();
    try {
        std::vector<std::string_view> args;
        for (const auto& command : commands) {
            args.assign(command.begin(), command.end());
            c->append(args);
        }
        c->flush();
        replies.reserve(commands.size());
        for (std::size_t i = 0; i < commands.size(); ++i) {
            replies.push_back(c->read());
        }
        release(std::move(c));
        note_success();
        return replies;
    } catch (const std::exception& e) {
        release(std::move(c));
        note_failure(e);
        throw;
    }
}

Reply Client::eval(const Script& script, Args keys, Args args) {
    const auto nkeys = std::to_string(keys.size());
    std::vector<std::string_view> argv;
    argv.reserve(3 + keys.size() + args.size());
    argv.insert(argv.end(), {"EVALSHA", script.sha(), nkeys});
    argv.insert(argv.end(), keys.begin(), keys.end());
    argv.insert(argv.end(), args.begin(), args.end());
    auto reply = exec(argv);
    if (reply.is_error() && reply.error_kind() == "NOSCRIPT") {
        // A restarted or flushed server: EVAL runs it and caches it again.
        argv[0] = "EVAL";
        argv[1] = script.source();
        reply = exec(argv);
    }
    if (reply.is_error()) {
        throw_reply(reply, m_location);
    }
    return reply;
}

nlohmann::json Client::health() {
    nlohmann::json out{{"status", "ok"}, {"location", m_location}};
    try {
        const auto start = std::chrono::steady_clock::now();
        command({"PING"});
        const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::steady_clock::now() - start)
                            .count();
        out["latency_ms"] = static_cast<double>(us) / 1000.0;
        const auto info = command({"INFO", "server"}).str;
        for (const auto* field : {"redis_version", "redis_mode"}) {
            const auto at = info.find(std::string(field) + ":");
            if (at != std::string::npos) {
                const auto begin = at + std::string_view(field).size() + 1;
                const auto end = info.find_first_of("\r\n", begin);
                out[std::string(field).substr(6)] = info.substr(begin, end - begin);
            }
        }
    } catch (const std::exception& e) {
        out = {{"status", "unavailable"}, {"location", m_location}, {"error", e.what()}};
    }
    return out;
}

}  // namespace pb::redis
