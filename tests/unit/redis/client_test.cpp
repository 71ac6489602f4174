// The hiredis client against a real redis-server: commands, pipelines,
// scripts, login and database from the URL, timeouts, and recovery.
#include "common/redis/client.hpp"

#include <thread>

#include <gtest/gtest.h>

#include "common/core/error.hpp"
#include "tests/support/errors.hpp"
#include "tests/support/redis_server.hpp"

namespace pb::redis {
namespace {

using pb::test::error_code_of;
using pb::test::RedisServer;

ClientOptions options_for(const std::string& url, int pool = 4) {
    ClientOptions o;
    o.connect.url = parse_redis_url(url);
    o.connect.connect_timeout = std::chrono::milliseconds(500);
    o.connect.command_timeout = std::chrono::milliseconds(300);
    o.pool_size = pool;
    o.backoff_max = std::chrono::milliseconds(200);
    return o;
}

// Retries `fn` until it stops throwing, for up to five seconds (a reconnect
// waits out its backoff first).
template <class F>
bool eventually(F&& fn) {
    for (int i = 0; i < 500; ++i) {
        try {
            fn();
            return true;
        } catch (const Error&) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }
    return false;
}

TEST(RedisClient, CommandsAndBinarySafeValues) {
    RedisServer server;
    Client client(options_for(server.url()));
    const std::string value("a\0b\r\nc", 6);
    EXPECT_EQ(client.command({"SET", "k", value}).str, "OK");
    EXPECT_EQ(client.command({"GET", "k"}).str, value);
    EXPECT_TRUE(client.command({"GET", "missing"}).is_nil());
    EXPECT_EQ(client.command({"INCRBY", "n", "5"}).integer, 5);
    const auto reply = client.exec({"HGET", "k", "f"});  // WRONGTYPE: returned by exec
    EXPECT_TRUE(reply.is_error());
    EXPECT_EQ(reply.error_kind(), "WRONGTYPE");
    EXPECT_EQ(error_code_of([&] { client.command({"HGET", "k", "f"}); }), ErrorCode::internal);
}

TEST(RedisClient, PipelineSendsTogetherAndAnswersInOrder) {
    RedisServer server;
    Client client(options_for(server.url()));
    std::vector<std::vector<std::string>> commands;
    for (int i = 0; i < 500; ++i) {
        commands.push_back({"RPUSH", "list", std::to_string(i)});
    }
    commands.push_back({"LLEN", "list"});
    const auto replies = client.pipeline(commands);
    ASSERT_EQ(replies.size(), 501u);
    EXPECT_EQ(replies[0].integer, 1);
    EXPECT_EQ(replies[499].integer, 500);
    EXPECT_EQ(replies[500].integer, 500);
}

TEST(RedisClient, ScriptsRunByShaAndComeBackAfterAFlush) {
    RedisServer server;
    Client client(options_for(server.url()));
    const Script script("return redis.call('INCRBY', KEYS[1], ARGV[1])");
    const std::string_view keys[] = {"counter"};
    const std::string_view args[] = {"2"};
    EXPECT_EQ(client.eval(script, keys, args).integer, 2);
    // The first EVALSHA loaded it: the server knows its SHA-1, which we computed.
    const auto exists = client.command({"SCRIPT", "EXISTS", script.sha()});
    ASSERT_EQ(exists.elements.size(), 1u);
    EXPECT_EQ(exists.elements[0].integer, 1);
    client.command({"SCRIPT", "FLUSH"});
    EXPECT_EQ(client.eval(script, keys, args).integer, 4);  // NOSCRIPT, then EVAL
    EXPECT_EQ(client.command({"SCRIPT", "EXISTS", script.sha()}).elements[0].integer, 1);
}

TEST(RedisClient, DatabaseComesFromTheUrl) {
    RedisServer server;
    Client db3(options_for(server.url(3)));
    Client db0(options_for(server.url(0)));
    db3.command({"SET", "where", "three"});
    EXPECT_TRUE(db0.command({"GET", "where"}).is_nil());
    EXPECT_EQ(db3.command({"GET", "where"}).str, "three");
}

TEST(RedisClient, PasswordLogsInAndAWrongOneIsUnavailableWithoutEcho) {
    RedisServer server({.password = "pb-redis-pass"});
    const auto base = "redis://:pb-redis-pass@127.0.0.1:" + std::to_string(server.port()) + "/0";
    Client good(options_for(base));
    EXPECT_EQ(good.command({"PING"}).str, "PONG");

    const auto wrong = "redis://:not-the-pass@127.0.0.1:" + std::to_string(server.port()) + "/0";
    Client bad(options_for(wrong));
    try {
        bad.command({"PING"});
        FAIL() << "a wrong password was accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::unavailable);
        EXPECT_NE(std::string(e.what()).find("refused the login"), std::string::npos) << e.what();
        EXPECT_EQ(std::string(e.what()).find("not-the-pass"), std::string::npos) << e.what();
    }
    Client none(options_for(server.url()));
    EXPECT_EQ(error_code_of([&] { none.command({"PING"}); }), ErrorCode::unavailable);
}

TEST(RedisClient, ASlowAnswerTimesOutAndTheClientCarriesOn) {
    RedisServer server;
    Client client(options_for(server.url(), 1));
    try {
        client.command({"BLPOP", "nothing", "1"});  // blocks for a second
        FAIL() << "no timeout";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::unavailable);
        EXPECT_NE(std::string(e.what()).find("no answer within 300 ms"), std::string::npos)
            << e.what();
    }
    // The timed-out connection was dropped; a new one answers once the server does.
    EXPECT_TRUE(eventually([&] { client.command({"PING"}); }));
    EXPECT_GE(client.errors(), 1u);
}

TEST(RedisClient, DownFailsFastAndRecoversWithoutANewClient) {
    RedisServer server;
    Client client(options_for(server.url()));
    client.command({"SET", "a", "1"});
    EXPECT_TRUE(client.up());
    server.stop();
    EXPECT_EQ(error_code_of([&] { client.command({"GET", "a"}); }), ErrorCode::unavailable);
    EXPECT_FALSE(client.up());
    // While backing off, calls fail at once instead of each trying to connect.
    const auto failures = client.connect_failures();
    for (int i = 0; i < 50; ++i) {
        EXPECT_EQ(error_code_of([&] { client.command({"PING"}); }), ErrorCode::unavailable);
    }
    EXPECT_LE(client.connect_failures() - failures, 2u);
    server.start();
    EXPECT_TRUE(eventually([&] { client.command({"PING"}); }));
    EXPECT_TRUE(client.up());
    auto health = client.health();
    EXPECT_EQ(health["status"], "ok");
    EXPECT_TRUE(health["version"].get<std::string>().starts_with("7."));
    EXPECT_GT(health["latency_ms"].get<double>(), 0.0);
}

TEST(RedisClient, HealthSaysUnavailableWhenDown) {
    Client client(options_for("redis://127.0.0.1:1/0"));
    const auto health = client.health();
    EXPECT_EQ(health["status"], "unavailable");
    EXPECT_EQ(health["location"], "127.0.0.1:1/0");
    EXPECT_FALSE(health["error"].get<std::string>().empty());
}

TEST(RedisClient, ThreadsShareThePool) {
    RedisServer server;
    Client client(options_for(server.url(), 3));
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 200; ++i) {
                client.command({"INCR", "shared"});
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    EXPECT_EQ(client.command({"GET", "shared"}).str, "1600");
}

}  // namespace
}  // namespace pb::redis
