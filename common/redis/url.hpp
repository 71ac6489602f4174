#pragma once

#include <string>
#include <string_view>

namespace pb::redis {

// Where a Redis server is and how to log in, from a URL:
//   redis://[[user]:password@]host[:port][/db]
//   unix:///path/to/redis.sock[?db=N]   (also redis+unix://)
// rediss:// (TLS) is refused: Debian 12's hiredis 0.14 has no TLS support.
struct RedisUrl {
    std::string host;  // empty for a Unix socket
    int port = 6379;
    std::string socket_path;
    std::string user;  // Redis 6 ACL user; empty: the default user
    std::string password;
    int db = 0;

    // "127.0.0.1:6379/0" or "unix:/run/redis.sock/0": for logs, /health and
    // errors. Never holds the password.
    std::string location() const;
};

// Error(invalid_argument, naming redis.url) for anything else; the message
// never repeats the password.
RedisUrl parse_redis_url(std::string_view url);

}  // namespace pb::redis
