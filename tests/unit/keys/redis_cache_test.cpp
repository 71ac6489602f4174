// KeyService with its Redis tier: several "processes" (each its own Store,
// Redis client, follower and KeyService) on one database and one real Redis.
#include "common/keys/redis_cache.hpp"

#include <fstream>
#include <future>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/core/config.hpp"
#include "common/core/error.hpp"
#include "common/events/outbox.hpp"
#include "common/keys/format.hpp"
#include "common/keys/service.hpp"
#include "common/redis/client.hpp"
#include "common/runtime/services.hpp"
#include "common/store/migrations.hpp"
#include "tests/support/test_db.hpp"
#include "tests/unit/keys/redis_fixture.hpp"

namespace pb::keys::test {
namespace {

using nlohmann::json;
using pb::test::Backend;

constexpr std::int64_t k_ttl_ms = 30'000;

// One pb process: its own connections, follower and caches.
struct Daemon {
    std::unique_ptr<store::Store> store;
    std::unique_ptr<redis::Client> redis;
    std::unique_ptr<KeyService> keys;

    const RedisKeyCache& cache() const { return *keys->redis_cache(); }
};

class RedisKeyCacheTest : public ::testing::TestWithParam<Backend> {
  protected:
    RedisKeyCacheTest() : db(GetParam()) {
        auto st = store::open_store(db.url(), store::StoreOptions{.pool_size = 2});
        store::migrate(*st, clock);
        a = daemon();
        b = daemon();
        // Past the processes' start: what they load from now on, they trust.
        clock.advance(10'000);
    }

    std::unique_ptr<Daemon> daemon() {
        auto d = std::make_unique<Daemon>();
        d->store = store::open_store(db.url(), store::StoreOptions{.pool_size = 2});
        redis::ClientOptions options;
        options.connect.url = redis::parse_redis_url(server.url());
        options.backoff_max = std::chrono::milliseconds(200);
        d->redis = std::make_unique<redis::Client>(options);
        d->keys = std::make_unique<KeyService>(
            *d->store, clock,
            std::make_unique<RedisKeyCache>(*d->redis, clock, k_ttl_ms,
                                            [this]() -> const SecretBox& { return box; }));
        return d;
    }

    CreatedKey create(Daemon& d, std::vector<std::string> perms = {"deploy:write"}) {
        return d.keys->create(NewKey{.owner = "ci", .name = "deploy", .permissions = perms},
                              "test");
    }

    std::string entry_key(std::string_view id) const { return "pb:key:" + std::string(id); }
    // The raw entry, or "" when there is none.
    std::string entry(std::string_view id) const {
        const auto r = server.command({"GET", entry_key(id)});
        return r.is_nil() ? "" : r.str;
    }
    // Puts an entry back as if Redis had never seen its DEL.
    void put_back(std::string_view id, const std::string& value) const {
        ASSERT_FALSE(value.empty());
        ASSERT_EQ(server.command({"SET", entry_key(id), value, "PX", "60000"}).str, "OK");
    }
    std::int64_t dbsize() const { return server.command({"DBSIZE"}).integer; }

    void sql(const std::string& statement, const store::Params& params) {
        auto st = store::open_store(db.url(), store::StoreOptions{.pool_size = 1});
        st->transaction([&](store::Connection& c) { c.exec(statement, params); });
    }

    // True once `check` holds: seen_across_stores on this test's backend.
    template <class F>
    bool seen(F&& check) {
        return pb::test::seen_across_stores(GetParam(), std::forward<F>(check));
    }

    LocalRedis server;
    pb::test::TestDb db;
    ManualClock clock;
    const SecretBox box{std::string(32, 'm')};  // the master key every process shares
    std::unique_ptr<Daemon> a;
    std::unique_ptr<Daemon> b;
};

// A process with a cold memory finds a key another loaded in Redis, without
// reading the database (a change made behind pb's back is not seen), until an
// event for the key invalidates the entry.
TEST_P(RedisKeyCacheTest, ColdProcessIsAnsweredFromRedisUntilAChange) {
    const auto k = create(*a);
    ASSERT_TRUE(a->keys->verify(k.key).valid);
    EXPECT_EQ(a->cache().misses(), 1u);
    ASSERT_FALSE(entry(k.record.id).empty());

    sql("UPDATE api_keys SET permissions = $2 WHERE id = $1",
        {k.record.id, std::string(R"(["changed:sql"])")});
    const auto hit = b->keys->verify(k.key);
    ASSERT_TRUE(hit.valid);
    EXPECT_EQ(hit.key->permissions, std::vector<std::string>{"deploy:write"});
    EXPECT_EQ(b->cache().hits(), 1u);
    EXPECT_EQ(b->cache().misses(), 0u);

    a->keys->update(k.record.id, KeyPatch{.name = "renamed"});
    EXPECT_TRUE(seen([&] {
        const auto r = b->keys->verify(k.key);
        return r.valid && r.key->permissions == std::vector<std::string>{"changed:sql"};
    }));
    EXPECT_EQ(b->cache().stale(), 0u);  // the DEL got there: nothing stale to refuse
}

// A revocation through one process is refused by another at once.
TEST_P(RedisKeyCacheTest, RevokeThroughOneProcessIsRefusedByAnother) {
    const auto k = create(*a);
    ASSERT_TRUE(a->keys->verify(k.key).valid);
    ASSERT_TRUE(b->keys->verify(k.key).valid);
    EXPECT_EQ(b->cache().hits(), 1u);
    a->keys->revoke(k.record.id);
    EXPECT_EQ(a->keys->verify(k.key).reason, "revoked");
    EXPECT_TRUE(seen([&] { return b->keys->verify(k.key).reason == "revoked"; }));
    EXPECT_EQ(b->keys->verify(k.key).reason, "revoked");
}

// An entry from before a revocation, back in Redis (as if it had missed the
// DEL), is refused by every process the revocation reached: the revoker, one
// that applied the event, and ones started after it, however much later.
TEST_P(RedisKeyCacheTest, StaleEntryAfterRevokeIsRefused) {
    const auto k = create(*a);
    ASSERT_TRUE(b->keys->verify(k.key).valid);
    const auto before = entry(k.record.id);
    ASSERT_TRUE(a->keys->verify(k.key).valid);
    ASSERT_EQ(a->cache().hits(), 1u);

    a->keys->revoke(k.record.id);
    EXPECT_EQ(entry(k.record.id), "");  // deleted after the commit
    put_back(k.record.id, before);
    EXPECT_EQ(a->keys->verify(k.key).reason, "revoked");
    EXPECT_EQ(a->cache().stale(), 1u);

    put_back(k.record.id, before);
    EXPECT_TRUE(seen([&] { return b->keys->verify(k.key).reason == "revoked"; }));
    EXPECT_EQ(b->cache().stale(), 1u);

    auto c = daemon();
    put_back(k.record.id, before);
    EXPECT_EQ(c->keys->verify(k.key).reason, "revoked");
    EXPECT_EQ(c->cache().stale(), 1u);

    auto d = daemon();
    clock.advance(3'600'000);
    put_back(k.record.id, before);
    EXPECT_EQ(d->keys->verify(k.key).reason, "revoked");
    EXPECT_EQ(d->cache().stale(), 1u);
}

// On PostgreSQL a seq is taken at INSERT and seen at COMMIT: a revocation
// still uncommitted while a later seq committed must not let an entry loaded
// in between pass for newer than the revocation (which a snapshot's highest
// seq would). The revocation is made by hand, without its DEL.
// PostgreSQL only: SQLite has one writer, so there seq order is commit order.
class RedisKeyCachePgTest : public RedisKeyCacheTest {};

TEST_P(RedisKeyCachePgTest, RevocationCommittedAfterALaterSeqIsNotHidden) {
    const auto k = create(*a);
    auto raw = store::open_store(db.url(), store::StoreOptions{.pool_size = 1});
    std::promise<void> written;
    std::promise<void> commit;
    std::thread revoker([&] {
        raw->transaction([&](store::Connection& c) {
            c.exec("UPDATE api_keys SET revoked_at = $2, updated_at = $2 WHERE id = $1",
                   {k.record.id, clock.now()});
            events::append(c, "keys/" + k.record.id, "key.revoked",
                           {{"id", k.record.id}, {"status", "revoked"}}, clock.now());
            written.set_value();
            commit.get_future().wait();
        });
    });
    written.get_future().wait();
    create(*a);                                 // a higher seq, committed first
    ASSERT_TRUE(b->keys->verify(k.key).valid);  // loaded now: not revoked yet
    ASSERT_FALSE(entry(k.record.id).empty());
    commit.set_value();
    revoker.join();
    EXPECT_TRUE(seen([&] { return b->keys->verify(k.key).reason == "revoked"; }));
    auto c = daemon();
    EXPECT_EQ(c->keys->verify(k.key).reason, "revoked");
}

// A stale entry of a deleted key is refused, and removed.
TEST_P(RedisKeyCacheTest, StaleEntryAfterDeleteIsRefusedAndRemoved) {
    const auto k = create(*a);
    ASSERT_TRUE(b->keys->verify(k.key).valid);
    const auto before = entry(k.record.id);
    a->keys->remove(k.record.id);
    put_back(k.record.id, before);
    EXPECT_TRUE(seen([&] { return b->keys->verify(k.key).reason == "unknown"; }));
    EXPECT_EQ(b->cache().stale(), 1u);
    EXPECT_EQ(entry(k.record.id), "");
}

// After a rotation without grace, a stale entry cannot bring the old secret back.
TEST_P(RedisKeyCacheTest, StaleEntryAfterRotateKeepsTheOldSecretOut) {
    const auto k = create(*a);
    ASSERT_TRUE(b->keys->verify(k.key).valid);
    const auto before = entry(k.record.id);
    const auto rotated = a->keys->rotate(k.record.id, 0);
    put_back(k.record.id, before);
    EXPECT_TRUE(seen([&] { return b->keys->verify(k.key).reason == "unknown"; }));
    EXPECT_TRUE(b->keys->verify(rotated.key).valid);
    put_back(k.record.id, before);
    EXPECT_EQ(a->keys->verify(k.key).reason, "unknown");
    EXPECT_TRUE(a->keys->verify(rotated.key).valid);
}

// The entry is sealed under the master key; it holds the secret's hash, never
// the secret, and lives at most the ttl.
TEST_P(RedisKeyCacheTest, EntryIsSealedHoldsTheHashAndExpires) {
    const auto k = create(*a);
    ASSERT_TRUE(a->keys->verify(k.key).valid);
    const auto raw = entry(k.record.id);
    EXPECT_EQ(raw.find(hash_key(k.key)), std::string::npos);
    const auto text = box.open_sealed(raw, "keys.redis_cache:" + k.record.id);
    const auto secret = k.key.substr(3 + k_id_length + 1, k_secret_length);
    EXPECT_EQ(text.find(secret), std::string::npos);
    const auto j = json::parse(text);
    EXPECT_EQ(j.at("key").at("secret_hash"), hash_key(k.key));
    const auto pttl = server.command({"PTTL", entry_key(k.record.id)}).integer;
    EXPECT_GT(pttl, 0);
    EXPECT_LE(pttl, k_ttl_ms);
}

// "No such key" is never written to Redis: a key created right after is
// valid everywhere.
TEST_P(RedisKeyCacheTest, UnknownKeysAreNotCached) {
    EXPECT_EQ(a->keys->verify(make_key(new_key_id())).reason, "unknown");
    EXPECT_EQ(a->cache().misses(), 1u);
    EXPECT_EQ(dbsize(), 0);
}

// With Redis down, verification is answered by the database (failures are
// counted, never thrown), a revocation still reaches the other process, and
// the tier works again once Redis is back.
TEST_P(RedisKeyCacheTest, RedisDownFallsBackToTheDatabase) {
    const auto k = create(*a);
    server.stop();
    ASSERT_TRUE(b->keys->verify(k.key).valid);
    EXPECT_GE(b->cache().errors(), 1u);
    a->keys->revoke(k.record.id);  // its DEL fails: counted, not thrown
    EXPECT_GE(a->cache().errors(), 1u);
    EXPECT_TRUE(seen([&] { return b->keys->verify(k.key).reason == "revoked"; }));

    server.start();  // empty: as after a restart without persistence
    bool written = false;
    for (int i = 0; i < 300 && !written; ++i) {
        const auto next = create(*a);  // a key b's memory does not hold yet
        written = b->keys->verify(next.key).valid && !entry(next.record.id).empty();
        if (!written) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }
    EXPECT_TRUE(written);  // b's client reconnected by itself
    EXPECT_EQ(b->keys->verify(k.key).reason, "revoked");
}

PB_INSTANTIATE_BACKENDS(RedisKeyCacheTest);
INSTANTIATE_TEST_SUITE_P(, RedisKeyCachePgTest, ::testing::Values(Backend::postgres),
                         pb::test::backend_name);

// Services builds the tier from redis.key_cache_ttl: on by default on
// PostgreSQL, off at 0s, and never on SQLite (its reads beat Redis's answers).
class RedisKeyCacheConfigTest : public ::testing::TestWithParam<Backend> {
  protected:
    RedisKeyCacheConfigTest() : db(GetParam()) {}

    std::unique_ptr<Services> open(const std::string& ttl) {
        std::ofstream(db.dir().file("pb.yaml")) << "{}\n";
        ConfigInputs in;
        in.file = db.dir().file("pb.yaml");
        in.flags["db.url"] = db.url();
        in.flags["redis.url"] = server.url();
        in.flags["security.master_key_file"] = db.dir().file("master.key");
        if (!ttl.empty()) {
            in.flags["redis.key_cache_ttl"] = ttl;
        }
        return Services::open(Config::load(in), clock, {.pool_size = 1});
    }

    LocalRedis server;
    pb::test::TestDb db;
    ManualClock clock;
};

// The default: 30 s entries under <prefix>key:<id>, on PostgreSQL.
TEST_P(RedisKeyCacheConfigTest, OnByDefaultOnPostgres) {
    auto services = open("");
    const auto k = services->keys().create(NewKey{.owner = "ci"}, "test");
    ASSERT_TRUE(services->keys().verify(k.key).valid);
    const auto* cache = services->keys().redis_cache();
    if (GetParam() == Backend::sqlite) {
        EXPECT_EQ(cache, nullptr);
        EXPECT_EQ(server.command({"DBSIZE"}).integer, 0);
        return;
    }
    ASSERT_NE(cache, nullptr);
    EXPECT_EQ(cache->ttl_ms(), 30'000);
    EXPECT_EQ(server.command({"EXISTS", "pb:key:" + k.record.id}).integer, 1);
}

// 0s turns the tier off: nothing is written to Redis.
TEST_P(RedisKeyCacheConfigTest, ZeroTtlWritesNothing) {
    auto services = open("0s");
    EXPECT_EQ(services->keys().redis_cache(), nullptr);
    const auto k = services->keys().create(NewKey{.owner = "ci"}, "test");
    ASSERT_TRUE(services->keys().verify(k.key).valid);
    services->keys().revoke(k.record.id);
    EXPECT_EQ(services->keys().verify(k.key).reason, "revoked");
    EXPECT_EQ(server.command({"DBSIZE"}).integer, 0);
}

// A ttl beyond a day is refused, naming the setting.
TEST_P(RedisKeyCacheConfigTest, TtlOverADayIsRefused) {
    try {
        open("2d");
        ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
        EXPECT_NE(std::string(e.what()).find("redis.key_cache_ttl"), std::string::npos);
    }
}

PB_INSTANTIATE_BACKENDS(RedisKeyCacheConfigTest);

}  // namespace
}  // namespace pb::keys::test
