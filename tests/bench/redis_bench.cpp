// limits.check through Redis next to the same in memory (issue 9 target:
// through Redis, at least 50% of what redis-benchmark measures for EVALSHA of
// the same script on the same machine; tests/bench/redis.sh runs both).
//   PB_BENCH_REDIS=redis://127.0.0.1:PORT/0 pb_bench_redis
//   pb_bench_redis --print-gcra-script    the Lua source, for SCRIPT LOAD
//   pb_bench_redis --print-gcra-sha       the SHA-1 pb sends with EVALSHA
//   pb_bench_redis --print-gcra-args      its ARGV for one check, as LimitService sends it
// The Redis benchmarks are skipped (with a message) when PB_BENCH_REDIS is unset.
#include <cstdlib>
#include <iostream>
#include <random>
#include <string_view>

#include <benchmark/benchmark.h>

#include "common/core/clock.hpp"
#include "common/core/config.hpp"
#include "common/core/log.hpp"
#include "common/limits/ban_service.hpp"
#include "common/limits/redis_limiter.hpp"
#include "common/limits/service.hpp"
#include "common/redis/client.hpp"
#include "common/store/migrations.hpp"
#include "common/store/store.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace pb::limits;

constexpr int k_identifiers = 100'000;
// One connection per benchmark thread at most (the largest Threads() below),
// as redis-benchmark opens one per client: the pool is then never the queue.
constexpr std::string_view k_pool_size = "32";

const char* redis_url() {
    const char* url = std::getenv("PB_BENCH_REDIS");
    return url != nullptr && *url != '\0' ? url : nullptr;
}

// The settings pbd would read: defaults, PB_* from the environment, and
// generous rates so that most checks pass (the spending path of the script).
pb::Config bench_config(bool with_redis) {
    pb::ConfigInputs in;
    in.env = pb::read_environment();
    in.env.erase("PB_REDIS");
    in.flags["limits.ip.rate"] = "1000/s";
    if (with_redis) {
        in.flags["redis.url"] = redis_url();
        if (!in.env.contains("PB_REDIS_POOL_SIZE")) {
            in.flags["redis.pool_size"] = std::string(k_pool_size);
        }
    }
    return pb::Config::load(in);
}

struct Fixture {
    pb::test::TempDir dir;
    pb::Config config;
    std::unique_ptr<pb::store::Store> store;
    std::unique_ptr<BanService> bans;
    std::unique_ptr<pb::redis::Client> redis;
    std::unique_ptr<LimitService> limits;
    std::vector<std::string> ids;

    explicit Fixture(bool with_redis) : config(bench_config(with_redis)) {
        pb::log::init("warn", "text");
        const auto& clock = pb::SystemClock::instance();
        store =
            pb::store::open_store(dir.file("bench.db"), {.busy_timeout_ms = 5000, .pool_size = 2});
        pb::store::migrate(*store, clock);
        bans = std::make_unique<BanService>(*store, clock, ban_settings_from_config(config));
        if (with_redis) {
            redis =
                std::make_unique<pb::redis::Client>(pb::redis::client_options_from_config(config));
        }
        limits = std::make_unique<LimitService>(clock, *bans, limit_settings_from_config(config),
                                                redis.get());
        for (int i = 0; i < k_identifiers; ++i) {
            ids.push_back(to_string(IpAddress{IpFamily::v4, U128{0, 0x0A00'0000ULL + i}}));
        }
    }
};

Fixture& memory_fixture() {
    static Fixture f(false);
    return f;
}

Fixture* redis_fixture() {
    if (redis_url() == nullptr) {
        return nullptr;
    }
    static Fixture f(true);
    return &f;
}

// limits.check as the op calls it (the address as text), one of 100,000
// identifiers per call at random.
void run_checks(benchmark::State& state, Fixture& f) {
    std::mt19937 rng(static_cast<unsigned>(state.thread_index()) + 1);
    std::uniform_int_distribution<int> pick(0, k_identifiers - 1);
    std::int64_t allowed = 0;
    for (auto _ : state) {
        const auto r = f.limits->check(Scope::ip, f.ids[static_cast<std::size_t>(pick(rng))]);
        allowed += r.allowed ? 1 : 0;
    }
    state.counters["allowed"] =
        benchmark::Counter(static_cast<double>(allowed) / static_cast<double>(state.iterations()),
                           benchmark::Counter::kAvgThreads);
    state.SetItemsProcessed(state.iterations());
}

void BM_LimitsCheckRedis(benchmark::State& state) {
    auto* f = redis_fixture();
    if (f == nullptr) {
        state.SkipWithError("PB_BENCH_REDIS is not set");
        for (auto _ : state) {
        }
        return;
    }
    run_checks(state, *f);
}
BENCHMARK(BM_LimitsCheckRedis)->Threads(1)->Threads(8)->Threads(32)->UseRealTime()->MinTime(3.0);

void BM_LimitsCheckMemory(benchmark::State& state) {
    run_checks(state, memory_fixture());
}
BENCHMARK(BM_LimitsCheckMemory)->Threads(1)->Threads(8)->Threads(32)->UseRealTime()->MinTime(1.0);

// The six ARGV of the script for one spending check under the bench's ip policy.
void print_gcra_args() {
    const auto config = bench_config(false);
    const auto settings = limit_settings_from_config(config);
    const auto& p = *settings.ip;
    std::cout << p.interval_us() << ' ' << p.burst << " 1 spend " << settings.violations.threshold
              << ' ' << settings.violations.window_ms << '\n';
}

}  // namespace

int main(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--print-gcra-script") {
            std::cout << gcra_script().source();
            return 0;
        }
        if (arg == "--print-gcra-sha") {
            std::cout << gcra_script().sha() << '\n';
            return 0;
        }
        if (arg == "--print-gcra-args") {
            print_gcra_args();
            return 0;
        }
    }
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
        return 1;
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
