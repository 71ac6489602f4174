#include "common/redis/connection.hpp"

#include <cerrno>
#include <cstring>
#include <hiredis/hiredis.h>
#include <vector>

#include "common/core/error.hpp"
#include "common/redis/resp.hpp"

namespace pb::redis {
namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
    return timeval{.tv_sec = static_cast<time_t>(ms.count() / 1000),
                   .tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

// hiredis wants parallel arrays of pointers and lengths.
struct Argv {
    explicit Argv(std::span<const std::string_view> args) {
        ptrs.reserve(args.size());
        lens.reserve(args.size());
        for (const auto a : args) {
            ptrs.push_back(a.data());
            lens.push_back(a.size());
        }
    }
    std::vector<const char*> ptrs;
    std::vector<std::size_t> lens;
};

}  // namespace

bool is_unavailable_reply(const Reply& reply) {
    if (!reply.is_error()) {
        return false;
    }
    const auto kind = reply.error_kind();
    for (const auto* k : {"LOADING", "BUSY", "MASTERDOWN", "READONLY", "TRYAGAIN", "CLUSTERDOWN",
                          "NOAUTH", "WRONGPASS", "NOPERM"}) {
        if (kind == k) {
            return true;
        }
    }
    return false;
}

Connection::Connection(const ConnectOptions& options)
    : m_location(options.url.location()), m_timeout(options.command_timeout) {
    const auto tv = to_timeval(options.connect_timeout);
    m_context = options.url.socket_path.empty()
                    ? redisConnectWithTimeout(options.url.host.c_str(), options.url.port, tv)
                    : redisConnectUnixWithTimeout(options.url.socket_path.c_str(), tv);
    if (m_context == nullptr) {
        throw Error(ErrorCode::unavailable, "redis at " + m_location + ": out of memory");
    }
    if (m_context->err != 0) {
        const std::string why = m_context->errstr;
        redisFree(m_context);
        m_context = nullptr;
        throw Error(ErrorCode::unavailable, "cannot connect to redis at " + m_location + ": " + why,
                    {{"redis", m_location}});
    }
    redisSetTimeout(m_context, to_timeval(options.command_timeout));
    if (options.url.socket_path.empty()) {
        redisEnableKeepAlive(m_context);
    }
    try {
        if (!options.url.password.empty()) {
            std::vector<std::string_view> auth{"AUTH"};
            if (!options.url.user.empty()) {
                auth.emplace_back(options.url.user);
            }
            auth.emplace_back(options.url.password);
            const auto r = call(auth);
            if (r.is_error()) {
                // Redis never echoes the password in its answer.
                throw Error(ErrorCode::unavailable,
                            "redis at " + m_location + " refused the login: " + r.str,
                            {{"redis", m_location}});
            }
        }
        if (options.url.db != 0) {
            const auto db = std::to_string(options.url.db);
            const std::string_view select[] = {"SELECT", db};
            const auto r = call(select);
            if (r.is_error()) {
                throw Error(
                    ErrorCode::unavailable,
                    "redis at " + m_location + ": cannot select database " + db + ": " + r.str,
                    {{"redis", m_location}});
            }
        }
    } catch (...) {
        redisFree(m_context);
        m_context = nullptr;
        throw;
    }
}

Connection::~Connection() {
    if (m_context != nullptr) {
        redisFree(m_context);
    }
}

void Connection::fail(std::string_view doing) {
    m_broken = true;
    std::string why = m_context->errstr;
    if (m_context->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        why = "no answer within " + std::to_string(m_timeout.count()) + " ms";
    } else if (m_context->err == REDIS_ERR_EOF) {
        why = "the server closed the connection";
    }
    throw Error(ErrorCode::unavailable,
                "redis at " + m_location + ": " + std::string(doing) + " failed: " + why,
                {{"redis", m_location}});
}

Reply Connection::call(std::span<const std::string_view> args) {
    if (m_broken) {
        throw Error(ErrorCode::unavailable, "redis at " + m_location + ": connection lost");
    }
    Argv argv(args);
    void* raw = redisCommandArgv(m_context, static_cast<int>(args.size()), argv.ptrs.data(),
                                 argv.lens.data());
    if (raw == nullptr) {
        fail(args.empty() ? "a command" : args.front());
    }
    return adopt_reply(raw);
}

void Connection::append(std::span<const std::string_view> args) {
    Argv argv(args);
    if (redisAppendCommandArgv(m_context, static_cast<int>(args.size()), argv.ptrs.data(),
                               argv.lens.data()) != REDIS_OK) {
        fail("queueing a command");
    }
}

void Connection::flush() {
    int done = 0;
    while (done == 0) {
        if (redisBufferWrite(m_context, &done) != REDIS_OK) {
            fail("writing");
        }
    }
}

Reply Connection::read() {
    void* raw = nullptr;
    if (redisGetReply(m_context, &raw) != REDIS_OK || raw == nullptr) {
        fail("reading a reply");
    }
    return adopt_reply(raw);
}

bool Connection::buffered(Reply& out) {
    void* raw = nullptr;
    if (redisGetReplyFromReader(m_context, &raw) != REDIS_OK) {
        fail("parsing a reply");
    }
    if (raw == nullptr) {
        return false;
    }
    out = adopt_reply(raw);
    return true;
}

void Connection::receive() {
    if (redisBufferRead(m_context) != REDIS_OK) {
        fail("reading");
    }
}

int Connection::fd() const {
    return m_context->fd;
}

}  // namespace pb::redis
