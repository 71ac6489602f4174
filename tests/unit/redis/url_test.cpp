#include "common/redis/url.hpp"

#include <gtest/gtest.h>

#include "common/core/error.hpp"
#include "tests/support/errors.hpp"

namespace pb::redis {
namespace {

using pb::test::error_code_of;

TEST(RedisUrl, HostPortAndDatabase) {
    const auto u = parse_redis_url("redis://10.0.0.5:6380/3");
    EXPECT_EQ(u.host, "10.0.0.5");
    EXPECT_EQ(u.port, 6380);
    EXPECT_EQ(u.db, 3);
    EXPECT_TRUE(u.password.empty());
    EXPECT_EQ(u.location(), "10.0.0.5:6380/3");
}

TEST(RedisUrl, DefaultsArePort6379AndDatabase0) {
    const auto u = parse_redis_url("redis://cache.internal");
    EXPECT_EQ(u.port, 6379);
    EXPECT_EQ(u.db, 0);
}

TEST(RedisUrl, UserAndPercentEncodedPasswordAreReadButNeverShown) {
    const auto u = parse_redis_url("redis://pb:p%40ss%3Aword@127.0.0.1:6379/1");
    EXPECT_EQ(u.user, "pb");
    EXPECT_EQ(u.password, "p@ss:word");
    EXPECT_EQ(u.location().find("p@ss"), std::string::npos);
    const auto alone = parse_redis_url("redis://:s3cret@127.0.0.1");
    EXPECT_TRUE(alone.user.empty());
    EXPECT_EQ(alone.password, "s3cret");
    EXPECT_EQ(alone.location(), "127.0.0.1:6379/0");
}

TEST(RedisUrl, UserWithoutColonHasNoPassword) {
    const auto u = parse_redis_url("redis://reader@127.0.0.1");
    EXPECT_EQ(u.user, "reader");
    EXPECT_TRUE(u.password.empty());
}

TEST(RedisUrl, Ipv6AndUnixSockets) {
    const auto v6 = parse_redis_url("redis://[::1]:7000/2");
    EXPECT_EQ(v6.host, "::1");
    EXPECT_EQ(v6.port, 7000);
    EXPECT_EQ(v6.location(), "[::1]:7000/2");
    const auto sock = parse_redis_url("unix:///run/redis/redis.sock?db=4");
    EXPECT_EQ(sock.socket_path, "/run/redis/redis.sock");
    EXPECT_EQ(sock.db, 4);
    EXPECT_EQ(sock.location(), "unix:/run/redis/redis.sock/4");
}

TEST(RedisUrl, TlsIsRefusedWithTheReason) {
    try {
        parse_redis_url("rediss://:secret@127.0.0.1:6380");
        FAIL() << "rediss:// accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
        EXPECT_NE(std::string(e.what()).find("hiredis 0.14 has no TLS"), std::string::npos);
        EXPECT_EQ(std::string(e.what()).find("secret"), std::string::npos);
    }
}

TEST(RedisUrl, BadUrlsAreInvalidArgumentsWithoutThePassword) {
    for (const auto* bad :
         {"http://127.0.0.1", "redis://", "redis://:pw@127.0.0.1:0", "redis://:pw@127.0.0.1:99999",
          "redis://:pw@127.0.0.1/x", "redis://:pw@127.0.0.1/1?tls=1", "unix://relative.sock",
          "redis://:p%4@127.0.0.1", "redis://[::1"}) {
        try {
            parse_redis_url(bad);
            ADD_FAILURE() << bad << " accepted";
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::invalid_argument) << bad;
            EXPECT_EQ(e.details().value("key", ""), "redis.url") << bad;
            EXPECT_EQ(std::string(e.what()).find(":pw@"), std::string::npos) << e.what();
        }
    }
}

}  // namespace
}  // namespace pb::redis
