// RedisKeyCache on its own, on a real Redis: the rules that decide whether an
// entry may be used, with the database's part played by the loader it is
// given (a record and the seq its snapshot saw).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/core/error.hpp"
#include "common/keys/redis_cache.hpp"
#include "common/redis/client.hpp"
#include "tests/unit/keys/redis_fixture.hpp"

namespace pb::keys::test {
namespace {

using nlohmann::json;

constexpr std::int64_t k_ttl_ms = 1'000;
constexpr std::int64_t k_skew = RedisKeyCache::k_clock_skew_ms;

class RedisKeyCacheTierTest : public ::testing::Test {
  protected:
    RedisKeyCacheTierTest() {
        redis::ClientOptions options;
        options.connect.url = redis::parse_redis_url(server.url());
        client = std::make_unique<redis::Client>(options);
        cache = std::make_unique<RedisKeyCache>(*client, clock, k_ttl_ms,
                                                [this]() -> const SecretBox& { return box; });
        start = clock.now();
    }

    // What the database holds for "k1": this record at this seq.
    std::optional<KeyRecord> get(std::string_view id = "k1") {
        return cache->get(id, [&](std::string_view key_id) -> std::optional<VersionedRecord> {
            ++loads;
            if (key_id != "k1" || !db_has_key) {
                return std::nullopt;
            }
            KeyRecord k;
            k.id = "k1";
            k.owner = "ci";
            k.name = db_name;
            k.secret_hash = "abc";
            return VersionedRecord{k, db_seq};
        });
    }

    // Rewrites the entry's seq and load time (sealed with the master key), as
    // an older or other process's.
    void forge(std::int64_t seq, UnixMillis at, std::string name = "forged") {
        const std::string context = "keys.redis_cache:k1";
        auto j = json::parse(box.open_sealed(server.command({"GET", "pb:key:k1"}).str, context));
        j["seq"] = seq;
        j["at"] = at;
        j["key"]["name"] = name;
        put(box.seal(j.dump(), context));
    }
    void put(const std::string& value) {
        ASSERT_EQ(server.command({"SET", "pb:key:k1", value, "PX", "60000"}).str, "OK");
    }

    LocalRedis server;
    ManualClock clock;
    const SecretBox box{std::string(32, 'm')};
    std::unique_ptr<redis::Client> client;
    std::unique_ptr<RedisKeyCache> cache;
    UnixMillis start = 0;

    bool db_has_key = true;
    std::string db_name = "db";
    std::int64_t db_seq = 5;
    int loads = 0;
};

// A key this process has seen no change of is trusted only from an entry
// loaded k_clock_skew_ms after the process started.
TEST_F(RedisKeyCacheTierTest, EntriesFromBeforeTheStartAreRefused) {
    ASSERT_EQ(get()->name, "db");
    ASSERT_EQ(loads, 1);
    EXPECT_EQ(get()->name, "db");  // loaded at start: refused, loaded again
    EXPECT_EQ(loads, 2);
    EXPECT_EQ(cache->stale(), 1u);

    clock.advance(k_skew);
    forge(5, start + k_skew - 1);
    EXPECT_EQ(get()->name, "db");
    EXPECT_EQ(cache->stale(), 2u);
    forge(5, start + k_skew);
    EXPECT_EQ(get()->name, "forged");
    EXPECT_EQ(cache->hits(), 1u);
    EXPECT_EQ(loads, 3);
}

// Once a change has been noted, an entry is judged by its seq alone: below
// the change it is refused however recent, at or above it is used.
TEST_F(RedisKeyCacheTierTest, NotedChangesAreJudgedBySeq) {
    clock.advance(k_skew);
    cache->note_change("k1", 7);
    ASSERT_EQ(get()->name, "db");  // miss
    forge(6, clock.now() + 1000);
    EXPECT_EQ(get()->name, "db");
    EXPECT_EQ(cache->stale(), 1u);
    forge(7, start);  // old time, but it holds the change
    EXPECT_EQ(get()->name, "forged");
    EXPECT_EQ(cache->hits(), 1u);
}

// A noted seq is forgotten after the horizon; the floor then keeps refusing
// entries loaded before the change, and trusts ones loaded after it.
TEST_F(RedisKeyCacheTierTest, ForgottenChangesStillRefuseOlderEntries) {
    clock.advance(k_skew);
    db_seq = 0;  // the key's events were pruned: key_seq says nothing
    ASSERT_TRUE(get());
    const auto before = clock.now();
    clock.advance(100);
    const auto change_at = clock.now();
    cache->note_change("k1", 9);
    EXPECT_EQ(cache->tracked(), 1u);

    clock.advance(cache->horizon_ms());
    cache->note_change("other", 10);  // evicts k1's
    EXPECT_EQ(cache->tracked(), 1u);

    forge(0, before);
    EXPECT_EQ(get()->name, "db");
    forge(0, change_at + k_skew - 1);
    EXPECT_EQ(get()->name, "db");
    EXPECT_EQ(cache->stale(), 2u);
    forge(0, change_at + k_skew);
    EXPECT_EQ(get()->name, "forged");
}

// Beyond k_max_tracked keys the oldest are forgotten early, safely (the floor).
TEST_F(RedisKeyCacheTierTest, TrackingIsBounded) {
    clock.advance(10'000);
    const auto noted_at = clock.now();
    for (std::size_t i = 0; i < RedisKeyCache::k_max_tracked + 10; ++i) {
        cache->note_change("key-" + std::to_string(i), static_cast<std::int64_t>(i) + 1);
    }
    EXPECT_EQ(cache->tracked(), RedisKeyCache::k_max_tracked);
    ASSERT_TRUE(get());
    forge(5, noted_at - 1);  // trusted by the start's floor, not by the evictions'
    EXPECT_EQ(get()->name, "db");
    forge(5, noted_at + k_skew);
    EXPECT_EQ(get()->name, "forged");
}

// An unknown key is not written; an unreadable or mistyped entry counts as an
// error and the database answers.
TEST_F(RedisKeyCacheTierTest, NegativesAndBadEntries) {
    clock.advance(k_skew);
    db_has_key = false;
    EXPECT_FALSE(get());
    EXPECT_EQ(server.command({"DBSIZE"}).integer, 0);

    db_has_key = true;
    put("{not json");
    EXPECT_EQ(get()->name, "db");
    EXPECT_EQ(cache->errors(), 1u);
    EXPECT_EQ(get()->name, "db");  // replaced by a good entry
    EXPECT_EQ(cache->hits(), 1u);

    server.command({"DEL", "pb:key:k1"});
    server.command({"HSET", "pb:key:k1", "a", "b"});
    EXPECT_EQ(get()->name, "db");  // WRONGTYPE
    EXPECT_EQ(cache->errors(), 2u);

    // An entry filed under another id is not this key's.
    server.command({"DEL", "pb:key:k1"});
    ASSERT_TRUE(get());
    const auto raw = server.command({"GET", "pb:key:k1"}).str;
    server.command({"SET", "pb:key:k2", raw});
    const int loads_before = loads;
    EXPECT_FALSE(get("k2"));
    EXPECT_EQ(loads, loads_before + 1);
    EXPECT_EQ(cache->errors(), 3u);
}

// Whoever can write to Redis but lacks the master key cannot forge an entry:
// one in clear, or sealed under another key, is refused.
TEST_F(RedisKeyCacheTierTest, EntriesNotSealedByTheMasterKeyAreRefused) {
    clock.advance(k_skew);
    ASSERT_TRUE(get());
    const std::string context = "keys.redis_cache:k1";
    const auto text = box.open_sealed(server.command({"GET", "pb:key:k1"}).str, context);
    put(text);
    EXPECT_EQ(get()->name, "db");
    put(SecretBox(std::string(32, 'x')).seal(text, context));
    EXPECT_EQ(get()->name, "db");
    EXPECT_EQ(cache->errors(), 2u);
    EXPECT_EQ(cache->hits(), 0u);
    EXPECT_EQ(loads, 3);
}

// Without a master key the tier stays off: the database answers, Redis is untouched.
TEST_F(RedisKeyCacheTierTest, NoMasterKeyNoTier) {
    RedisKeyCache off(*client, clock, k_ttl_ms, []() -> const SecretBox& {
        throw Error(ErrorCode::invalid_argument, "security.master_key_file must be set");
    });
    clock.advance(k_skew);
    for (int i = 0; i < 2; ++i) {
        const auto r = off.get("k1", [](std::string_view) -> std::optional<VersionedRecord> {
            KeyRecord k;
            k.id = "k1";
            return VersionedRecord{k, 1};
        });
        EXPECT_TRUE(r);
    }
    EXPECT_EQ(server.command({"DBSIZE"}).integer, 0);
    EXPECT_EQ(off.hits() + off.misses() + off.errors(), 0u);
}

// invalidate() deletes the entry, and never throws with Redis gone.
TEST_F(RedisKeyCacheTierTest, InvalidateIsBestEffort) {
    clock.advance(k_skew);
    ASSERT_TRUE(get());
    cache->invalidate("k1");
    EXPECT_EQ(server.command({"EXISTS", "pb:key:k1"}).integer, 0);
    server.stop();
    cache->invalidate("k1");
    EXPECT_EQ(cache->errors(), 1u);
    EXPECT_EQ(get()->name, "db");
}

}  // namespace
}  // namespace pb::keys::test
