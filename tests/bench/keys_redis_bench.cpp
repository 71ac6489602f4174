// keys.verify by a process whose memory does not hold the key: answered by a
// warm Redis entry (redis.key_cache_ttl) vs loaded from the database. Starts
// its own redis-server on a free loopback port. PB_BENCH_DB=<url> runs it on
// that database instead of a fresh SQLite file (see keys_verify_bench.cpp);
// on SQLite the figures show why pb leaves the tier off there.
#include <cstdlib>

#include <benchmark/benchmark.h>

#include "common/core/clock.hpp"
#include "common/core/log.hpp"
#include "common/keys/redis_cache.hpp"
#include "common/keys/service.hpp"
#include "common/redis/client.hpp"
#include "common/store/migrations.hpp"
#include "common/store/store.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/unit/keys/redis_fixture.hpp"

namespace {

constexpr int k_keys = 5'000;
constexpr std::int64_t k_ttl_ms = 3'600'000;

struct Fixture {
    pb::test::TempDir dir;
    pb::keys::test::LocalRedis server;
    pb::ManualClock clock;
    const pb::SecretBox box{std::string(32, 'm')};
    std::unique_ptr<pb::store::Store> store;
    std::unique_ptr<pb::redis::Client> redis;
    std::vector<std::string> texts;

    Fixture() {
        pb::log::init("warn", "text");
        const char* url = std::getenv("PB_BENCH_DB");
        store = pb::store::open_store(url != nullptr && *url != '\0' ? url : dir.file("bench.db"),
                                      {.busy_timeout_ms = 5000, .pool_size = 2});
        pb::store::migrate(*store, clock);
        pb::redis::ClientOptions options;
        options.connect.url = pb::redis::parse_redis_url(server.url());
        redis = std::make_unique<pb::redis::Client>(options);
        pb::keys::KeyService creator(*store, clock);
        for (int i = 0; i < k_keys; ++i) {
            texts.push_back(
                creator.create({.owner = "owner-" + std::to_string(i % 100)}, "bench").key);
        }
    }

    // A process that has just started: nothing in memory, Redis tier on or off.
    std::unique_ptr<pb::keys::KeyService> process(bool with_redis) {
        return std::make_unique<pb::keys::KeyService>(
            *store, clock,
            with_redis
                ? std::make_unique<pb::keys::RedisKeyCache>(
                      *redis, clock, k_ttl_ms, [this]() -> const pb::SecretBox& { return box; })
                : nullptr);
    }

    // A cold process whose Redis holds every key, loaded after it started (as
    // in a daemon running for more than RedisKeyCache::k_clock_skew_ms).
    std::unique_ptr<pb::keys::KeyService> cold_process_warm_redis() {
        auto cold = process(true);
        clock.advance(pb::keys::RedisKeyCache::k_clock_skew_ms);
        auto warmer = process(true);
        for (const auto& t : texts) {
            warmer->verify(t);
        }
        return cold;
    }
};

Fixture& fixture() {
    static Fixture f;
    return f;
}

// Every verify misses memory: a new cold process after each pass over the keys.
void run(benchmark::State& state, bool with_redis) {
    auto& f = fixture();
    auto keys = with_redis ? f.cold_process_warm_redis() : f.process(false);
    std::size_t next = 0;
    for (auto _ : state) {
        if (next == f.texts.size()) {
            state.PauseTiming();
            keys.reset();
            keys = with_redis ? f.cold_process_warm_redis() : f.process(false);
            next = 0;
            state.ResumeTiming();
        }
        auto r = keys->verify(f.texts[next++]);
        if (!r.valid) {
            state.SkipWithError("a key did not verify");
            break;
        }
    }
    state.SetItemsProcessed(state.iterations());
    if (with_redis) {
        // Of the last cold process's verifies: all should be hits.
        const auto* cache = keys->redis_cache();
        state.counters["redis_hit_ratio"] =
            static_cast<double>(cache->hits()) /
            static_cast<double>(
                std::max<std::uint64_t>(1, cache->hits() + cache->misses() + cache->stale()));
    }
}

void BM_VerifyColdMemoryWarmRedis(benchmark::State& state) {
    run(state, true);
}
BENCHMARK(BM_VerifyColdMemoryWarmRedis)->MinTime(2.0)->UseRealTime();

void BM_VerifyColdMemoryDatabase(benchmark::State& state) {
    run(state, false);
}
BENCHMARK(BM_VerifyColdMemoryDatabase)->MinTime(2.0)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
