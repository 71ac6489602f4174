#pragma once

#include <chrono>
#include <span>
#include <string>
#include <string_view>

#include "common/redis/reply.hpp"
#include "common/redis/url.hpp"

struct redisContext;

namespace pb::redis {

// How to reach Redis and how long to wait (redis.*).
struct ConnectOptions {
    RedisUrl url;
    std::chrono::milliseconds connect_timeout{1000};
    // Every command's reply, and each read of a pipeline.
    std::chrono::milliseconds command_timeout{500};
};

// One connection to Redis over hiredis: connected, logged in (AUTH) and on
// its database (SELECT) when constructed. After any I/O failure or timeout it
// is broken() for good: hiredis cannot resume a stream it lost track of, so
// the owner drops it and opens another. Not thread-safe.
class Connection {
  public:
    // Error(unavailable) when Redis cannot be reached, does not answer in
    // time, or refuses the password (the message never holds the password).
    explicit Connection(const ConnectOptions& options);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // Sends one command and reads its reply (an error reply is returned, not
    // thrown). Error(unavailable) on an I/O failure or a timeout.
    Reply call(std::span<const std::string_view> args);
    // Queues a command to send with the next flush() (pipelining).
    void append(std::span<const std::string_view> args);
    // Writes everything queued. Error(unavailable).
    void flush();
    // Reads the next reply, waiting at most the command timeout. Error(unavailable).
    Reply read();
    // A reply already received and parsed, without waiting; false when none
    // is buffered. For the subscriber, which waits on fd() itself.
    bool buffered(Reply& out);
    // Reads what the socket has (after poll says it is readable).
    // Error(unavailable) when the server closed the connection.
    void receive();

    int fd() const;
    bool broken() const { return m_broken; }
    const std::string& location() const { return m_location; }

  private:
    [[noreturn]] void fail(std::string_view doing);

    redisContext* m_context = nullptr;
    std::string m_location;
    std::chrono::milliseconds m_timeout;
    bool m_broken = false;
};

// An error reply that means "not now" rather than "wrong": LOADING, BUSY,
// MASTERDOWN, READONLY, TRYAGAIN, NOAUTH, WRONGPASS…
bool is_unavailable_reply(const Reply& reply);

}  // namespace pb::redis
