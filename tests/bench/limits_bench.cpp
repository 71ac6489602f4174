// In-process rate-limit checks and ban checks (issue 6 targets: limits.check
// at least 5,000,000 per second across both cores on 100,000 identifiers; a
// ban check of an address against 10,000 CIDR ranges under 1 µs; issue 25:
// limits.check with 10,000 overrides at least 0.9x of none).
#include <random>

#include <benchmark/benchmark.h>

#include "common/core/clock.hpp"
#include "common/core/log.hpp"
#include "common/events/follower.hpp"
#include "common/limits/ban_service.hpp"
#include "common/limits/service.hpp"
#include "common/store/migrations.hpp"
#include "common/store/store.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using namespace pb::limits;

constexpr int k_identifiers = 100'000;
constexpr int k_ranges = 10'000;
constexpr int k_overrides = 10'000;

// A LimitService that reads overrides from its own database: none, or
// 10,000 (exact addresses, ranges of /12 to /28 — a few holding the probed
// 10.x addresses —, and user names and globs), written in one transaction.
struct Overridden {
    pb::test::TempDir dir;
    std::unique_ptr<pb::store::Store> store;
    std::unique_ptr<pb::events::Follower> follower;
    std::unique_ptr<LimitService> limits;

    Overridden(BanService& bans, const LimitSettings& settings, int count) {
        const auto& clock = pb::SystemClock::instance();
        store =
            pb::store::open_store(dir.file("bench.db"), {.busy_timeout_ms = 5000, .pool_size = 2});
        pb::store::migrate(*store, clock);
        follower = std::make_unique<pb::events::Follower>(*store);
        std::mt19937_64 rng(7);
        store->transaction([&](pb::store::Connection& c) {
            for (int i = 0; i < count; ++i) {
                std::string scope = "ip";
                std::string value;
                std::string kind = "exact";
                switch (i % 4) {
                    case 0:
                        value = to_string(IpAddress{IpFamily::v4, U128{0, rng() & 0xFFFF'FFFFULL}});
                        break;
                    case 1:
                        value = to_string(parse_cidr(
                            to_string(IpAddress{IpFamily::v4, U128{0, rng() & 0xFFFF'FFFFULL}}) +
                            "/" + std::to_string(i < 40 ? 24 : 12 + rng() % 17)));
                        if (i < 40) {  // some ranges hold probed addresses
                            value = to_string(parse_cidr("10.0." + std::to_string(i) + ".0/24"));
                        }
                        kind = "cidr";
                        break;
                    case 2:
                        scope = "user";
                        value = "customer-" + std::to_string(i);
                        break;
                    default:
                        scope = "user";
                        value = "tenant-" + std::to_string(i) + "-*";
                        kind = "glob";
                        break;
                }
                c.exec(
                    "INSERT INTO limit_overrides (scope, value, kind, rate, shadow, reason, "
                    "created_at, created_by) VALUES ($1, $2, $3, '2000/s,2000', 0, '', 0, "
                    "'bench') ON CONFLICT (scope, value) DO NOTHING",
                    {scope, value, kind});
            }
        });
        limits = std::make_unique<LimitService>(
            clock, bans, settings, LimitSources{.store = store.get(), .follower = follower.get()});
    }
};

struct Fixture {
    pb::test::TempDir dir;
    std::unique_ptr<pb::store::Store> store;
    std::unique_ptr<BanService> bans;
    std::unique_ptr<LimitService> limits;
    std::unique_ptr<Overridden> no_overrides;
    std::unique_ptr<Overridden> many_overrides;
    std::vector<std::string> ids;
    std::vector<IpAddress> probes;

    Fixture() {
        pb::log::init("warn", "text");
        const auto& clock = pb::SystemClock::instance();
        store =
            pb::store::open_store(dir.file("bench.db"), {.busy_timeout_ms = 5000, .pool_size = 2});
        pb::store::migrate(*store, clock);
        bans = std::make_unique<BanService>(*store, clock, BanSettings{});
        LimitSettings settings;
        settings.ip = parse_policy("1000/s", 0, "bench");  // generous: most checks pass
        settings.user = parse_policy("1000/s", 0, "bench");
        limits = std::make_unique<LimitService>(clock, *bans, settings);
        no_overrides = std::make_unique<Overridden>(*bans, settings, 0);
        many_overrides = std::make_unique<Overridden>(*bans, settings, k_overrides);

        std::mt19937_64 rng(42);
        for (int i = 0; i < k_identifiers; ++i) {
            ids.push_back(to_string(IpAddress{IpFamily::v4, U128{0, 0x0A00'0000ULL + i}}));
        }
        // 10,000 ranges: mostly IPv4 of every prefix length 8..32, some IPv6.
        std::vector<ImportRow> rows;
        for (int i = 0; i < k_ranges; ++i) {
            std::string text;
            if (i % 10 == 0) {
                const auto hi = 0x2001'0db8'0000'0000ULL | (rng() & 0xFFFF'FFFFULL);
                text = to_string(IpAddress{IpFamily::v6, U128{hi, 0}}) + "/" +
                       std::to_string(32 + rng() % 33);
            } else {
                text = to_string(IpAddress{IpFamily::v4, U128{0, rng() & 0xFFFF'FFFFULL}}) + "/" +
                       std::to_string(8 + rng() % 25);
            }
            rows.push_back({parse_target(text), std::nullopt, "bench", BanOrigin::manual});
        }
        bans->import(rows, "bench");
        for (int i = 0; i < 4096; ++i) {
            probes.push_back(IpAddress{IpFamily::v4, U128{0, rng() & 0xFFFF'FFFFULL}});
        }
        bans->refresh();
    }
};

Fixture& fixture() {
    static Fixture f;
    return f;
}

// limits.check as the op calls it (the address as text) on 100,000
// identifiers, one per call at random, from 1 and 2 threads.
void BM_LimitsCheck(benchmark::State& state) {
    auto& f = fixture();
    std::mt19937 rng(static_cast<unsigned>(state.thread_index()) + 1);
    std::uniform_int_distribution<int> pick(0, k_identifiers - 1);
    std::int64_t allowed = 0;
    for (auto _ : state) {
        const auto r = f.limits->check(Scope::ip, f.ids[static_cast<std::size_t>(pick(rng))]);
        allowed += r.allowed ? 1 : 0;
    }
    benchmark::DoNotOptimize(allowed);
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LimitsCheck)->Threads(1)->Threads(2)->UseRealTime()->MinTime(2.0);

// limits.check with overrides read from the database: range(0) is how many
// (0 or 10,000); the figure is the ratio of the two.
void BM_LimitsCheckOverrides(benchmark::State& state) {
    auto& f = fixture();
    auto& limits = state.range(0) == 0 ? *f.no_overrides->limits : *f.many_overrides->limits;
    std::mt19937 rng(static_cast<unsigned>(state.thread_index()) + 1);
    std::uniform_int_distribution<int> pick(0, k_identifiers - 1);
    std::int64_t allowed = 0;
    for (auto _ : state) {
        const auto r = limits.check(Scope::ip, f.ids[static_cast<std::size_t>(pick(rng))]);
        allowed += r.allowed ? 1 : 0;
    }
    benchmark::DoNotOptimize(allowed);
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LimitsCheckOverrides)
    ->ArgName("overrides")
    ->Arg(0)
    ->Arg(k_overrides)
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime()
    ->MinTime(2.0);

// The same for users: exact names and globs (none of them matching).
void BM_LimitsCheckUserOverrides(benchmark::State& state) {
    auto& f = fixture();
    auto& limits = state.range(0) == 0 ? *f.no_overrides->limits : *f.many_overrides->limits;
    std::mt19937 rng(1);
    std::uniform_int_distribution<int> pick(0, k_identifiers - 1);
    std::int64_t allowed = 0;
    for (auto _ : state) {
        const auto id = "tenant-x" + std::to_string(pick(rng));
        allowed += limits.check(Scope::user, id).allowed ? 1 : 0;
    }
    benchmark::DoNotOptimize(allowed);
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LimitsCheckUserOverrides)->ArgName("overrides")->Arg(0)->Arg(k_overrides);

// The daemon's path: the client address already parsed, never formatted.
void BM_LimitsCheckAddress(benchmark::State& state) {
    auto& f = fixture();
    std::mt19937 rng(static_cast<unsigned>(state.thread_index()) + 1);
    std::uniform_int_distribution<std::uint64_t> pick(0, k_identifiers - 1);
    std::int64_t allowed = 0;
    for (auto _ : state) {
        const IpAddress a{IpFamily::v4, U128{0, 0x0A00'0000ULL + pick(rng)}};
        allowed += f.limits->check_address(a).allowed ? 1 : 0;
    }
    benchmark::DoNotOptimize(allowed);
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LimitsCheckAddress)->Threads(1)->Threads(2)->UseRealTime()->MinTime(2.0);

// The daemon's per-request ban check: an address against 10,000 ranges.
void BM_BanCheckAddress(benchmark::State& state) {
    auto& f = fixture();
    std::size_t i = 0;
    std::int64_t hits = 0;
    for (auto _ : state) {
        hits += f.bans->match_address(f.probes[i++ & 4095]) != nullptr ? 1 : 0;
    }
    benchmark::DoNotOptimize(hits);
    state.counters["hit_ratio"] =
        benchmark::Counter(static_cast<double>(hits) / static_cast<double>(state.iterations()),
                           benchmark::Counter::kAvgThreads);
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BanCheckAddress)->Threads(1)->Threads(2)->UseRealTime();

// The whole caller check the daemon does: address, key and user at once.
void BM_BanCheckCaller(benchmark::State& state) {
    auto& f = fixture();
    std::size_t i = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(f.bans->match_caller(
            {.address = f.probes[i++ & 4095], .user = "alice", .key_id = "abcdef123456"}));
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BanCheckCaller);

// Parsing the client address text, which the daemon does first.
void BM_ParseIp(benchmark::State& state) {
    for (auto _ : state) {
        benchmark::DoNotOptimize(parse_ip("203.0.113.77"));
        benchmark::DoNotOptimize(parse_ip("2001:db8::8a2e:370:7334"));
    }
    state.SetItemsProcessed(state.iterations() * 2);
}
BENCHMARK(BM_ParseIp);

}  // namespace

BENCHMARK_MAIN();
