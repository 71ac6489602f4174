// Secrets: in-process local get (issue target: at least 100,000 per second), and
// the Vault backend's cost per read above a bare keep-alive HTTP GET of the
// same URL from the same KV v2 test server (target: under 100 us). Run:
//   build/dev/bin/pb_bench_secrets --benchmark_repetitions=5
//       --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true
#include <algorithm>

#include <benchmark/benchmark.h>
#include <httplib.h>

#include "common/core/clock.hpp"
#include "common/core/log.hpp"
#include "common/core/secret_box.hpp"
#include "common/secrets/local_backend.hpp"
#include "common/secrets/vault_backend.hpp"
#include "common/store/migrations.hpp"
#include "common/store/store.hpp"
#include "tests/support/kv2_server.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

constexpr int k_secrets = 1'000;

// The least noisy figure on a shared machine: the fastest repetition.
double min_of(const std::vector<double>& v) {
    return *std::min_element(v.begin(), v.end());
}

struct LocalFixture {
    pb::test::TempDir dir;
    std::unique_ptr<pb::store::Store> store;
    pb::SecretBox box{std::string(32, 'k')};
    std::unique_ptr<pb::secrets::LocalBackend> backend;

    LocalFixture() {
        pb::log::init("warn", "text");
        store =
            pb::store::open_store(dir.file("bench.db"), {.busy_timeout_ms = 5000, .pool_size = 2});
        pb::store::migrate(*store, pb::SystemClock::instance());
        backend = std::make_unique<pb::secrets::LocalBackend>(
            *store, pb::SystemClock::instance(), [this]() -> const pb::SecretBox& { return box; },
            10);
        for (int i = 0; i < k_secrets; ++i) {
            backend->write("app/svc-" + std::to_string(i),
                           {{"username", "svc"}, {"password", "correct-horse-battery-staple"}},
                           std::nullopt);
        }
    }
};

void BM_LocalGet(benchmark::State& state) {
    static LocalFixture f;
    int i = 0;
    for (auto _ : state) {
        auto s = f.backend->read("app/svc-" + std::to_string(i++ % k_secrets), std::nullopt);
        benchmark::DoNotOptimize(s);
    }
    state.counters["gets/s"] =
        benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_LocalGet)->UseRealTime()->ComputeStatistics("min", min_of);

struct VaultFixture {
    pb::test::Kv2Server server;
    std::unique_ptr<pb::secrets::VaultBackend> backend;

    VaultFixture() {
        pb::secrets::VaultSettings s;
        s.address = server.address();
        s.token = pb::test::Kv2Server::k_root_token;
        backend = std::make_unique<pb::secrets::VaultBackend>(s);
        backend->write("app/db",
                       {{"username", "svc"}, {"password", "correct-horse-battery-staple"}},
                       std::nullopt);
    }
};

VaultFixture& vault() {
    static VaultFixture f;
    return f;
}

// The floor: the same GET as the backend sends, from a bare tuned httplib client.
void BM_BareHttpGet(benchmark::State& state) {
    auto& f = vault();
    httplib::Client c("127.0.0.1", f.server.port());
    c.set_keep_alive(true);
    c.set_tcp_nodelay(true);
    const httplib::Headers h{{"X-Vault-Token", pb::test::Kv2Server::k_root_token}};
    for (auto _ : state) {
        auto res = c.Get("/v1/secret/data/app/db", h);
        if (!res || res->status != 200) {
            state.SkipWithError("bare GET failed");
            break;
        }
        benchmark::DoNotOptimize(res->body);
    }
}
BENCHMARK(BM_BareHttpGet)->UseRealTime()->ComputeStatistics("min", min_of);

void BM_VaultGet(benchmark::State& state) {
    auto& f = vault();
    const auto handler_before = f.server.handler_micros();
    const auto requests_before = f.server.requests();
    for (auto _ : state) {
        auto s = f.backend->read("app/db", std::nullopt);
        benchmark::DoNotOptimize(s);
    }
    // The server's own handler time per request (routing, JSON), for comparison.
    state.counters["server_us"] = static_cast<double>(f.server.handler_micros() - handler_before) /
                                  static_cast<double>(state.iterations());
    state.counters["requests_per_get"] =
        static_cast<double>(f.server.requests() - requests_before) /
        static_cast<double>(state.iterations());
}
BENCHMARK(BM_VaultGet)->UseRealTime()->ComputeStatistics("min", min_of);

}  // namespace

BENCHMARK_MAIN();
