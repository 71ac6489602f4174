#pragma once

// The shared test redis-server (tests/support/redis_server), with a way to
// look at what pb stored in it, for the keys' Redis tier tests and benchmark.

#include <initializer_list>
#include <span>
#include <string_view>

#include "common/redis/connection.hpp"
#include "common/redis/url.hpp"
#include "tests/support/redis_server.hpp"

namespace pb::keys::test {

class LocalRedis : public pb::test::RedisServer {
  public:
    // One command on a fresh connection of its own.
    redis::Reply command(std::initializer_list<std::string_view> args) const {
        redis::ConnectOptions options;
        options.url = redis::parse_redis_url(url());
        redis::Connection c(options);
        return c.call(std::span<const std::string_view>(args.begin(), args.size()));
    }
};

}  // namespace pb::keys::test
