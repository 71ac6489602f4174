// In-process keys.verify on a database of 100,000 keys (issue target: at least
// 200,000 verifications per second on one core). PB_BENCH_DB=<url> runs it on
// that database instead of a fresh SQLite file, e.g. a PostgreSQL schema:
//   PB_BENCH_DB='postgresql://pb@127.0.0.1:5432/postgres?options=-csearch_path%3Dbench'
#include <cstdlib>
#include <fstream>
#include <random>

#include <benchmark/benchmark.h>

#include "common/core/clock.hpp"
#include "common/core/config.hpp"
#include "common/core/log.hpp"
#include "common/keys/format.hpp"
#include "common/keys/identity_service.hpp"
#include "common/keys/service.hpp"
#include "common/keys/verifier.hpp"
#include "common/runtime/services.hpp"
#include "common/store/migrations.hpp"
#include "common/store/store.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

// PB_BENCH_KEYS=N: fewer keys, for a shorter run under callgrind
// (verify_ir.sh); compare only runs of the same count.
const int k_keys = [] {
    const char* n = std::getenv("PB_BENCH_KEYS");
    return n != nullptr && std::atoi(n) > 0 ? std::atoi(n) : 100'000;
}();

struct Fixture {
    pb::test::TempDir dir;
    std::unique_ptr<pb::store::Store> store;
    std::unique_ptr<pb::keys::KeyService> keys;
    std::vector<std::string> texts;

    Fixture() {
        pb::log::init("warn", "text");
        const char* url = std::getenv("PB_BENCH_DB");
        store = pb::store::open_store(url != nullptr && *url != '\0' ? url : dir.file("bench.db"),
                                      {.busy_timeout_ms = 5000, .pool_size = 2});
        pb::store::migrate(*store, pb::SystemClock::instance());
        keys = std::make_unique<pb::keys::KeyService>(*store, pb::SystemClock::instance());
        texts.reserve(k_keys);
        for (int i = 0; i < k_keys; ++i) {
            pb::keys::NewKey req;
            req.owner = "owner-" + std::to_string(i % 1000);
            req.permissions = {"read"};
            texts.push_back(keys->create(req, "bench").key);
        }
        for (const auto& t : texts) {
            keys->verify(t);  // warm the in-memory index, as a running daemon would be
        }
        keys->flush_usage();
    }
};

Fixture& fixture() {
    static Fixture f;
    return f;
}

void BM_KeysVerifyValid(benchmark::State& state) {
    auto& f = fixture();
    std::mt19937 rng(42);
    std::uniform_int_distribution<int> pick(0, k_keys - 1);
    for (auto _ : state) {
        auto r = f.keys->verify(f.texts[static_cast<std::size_t>(pick(rng))]);
        benchmark::DoNotOptimize(r.valid);
    }
    state.SetItemsProcessed(state.iterations());
    f.keys->flush_usage();
}
BENCHMARK(BM_KeysVerifyValid)->MinTime(2.0);

void BM_KeysVerifyMalformed(benchmark::State& state) {
    auto& f = fixture();
    std::string bad = f.texts.front();
    bad.back() = bad.back() == 'a' ? 'b' : 'a';
    for (auto _ : state) {
        auto r = f.keys->verify(bad);
        benchmark::DoNotOptimize(r.valid);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_KeysVerifyMalformed);

// A key with remaining uses: every verify is a write transaction (the atomic
// UPDATE … WHERE remaining > 0 RETURNING), the database's round trips included.
void BM_KeysVerifyRemaining(benchmark::State& state) {
    auto& f = fixture();
    static const std::string key = [&] {
        pb::keys::NewKey req;
        req.owner = "bench-remaining";
        req.remaining = std::int64_t{1} << 40;
        return f.keys->create(req, "bench").key;
    }();
    for (auto _ : state) {
        auto r = f.keys->verify(key);
        benchmark::DoNotOptimize(r.valid);
    }
    state.SetItemsProcessed(state.iterations());
    f.keys->flush_usage();
}
BENCHMARK(BM_KeysVerifyRemaining);

// A key moved in from another system (keys.import), verified by its own
// text: hashed, found by hash (remembered after the first time), then judged
// as a key of pb's. 10,000 imported keys beside the 100,000 of pb's.
void BM_KeysVerifyImported(benchmark::State& state) {
    auto& f = fixture();
    constexpr int k_imported = 10'000;
    static const std::vector<std::string> texts = [&] {
        std::vector<std::string> out;
        std::vector<pb::keys::ImportedKey> keys;
        for (int i = 0; i < k_imported; ++i) {
            out.push_back("sk_live_legacy_" + std::to_string(i) + "_Vb3nQ7sT1wXy5Za8");
            keys.push_back({pb::keys::hash_key(out.back()),
                            pb::keys::NewKey{.owner = "legacy", .permissions = {"read"}}});
        }
        f.keys->import_keys(keys, "bench");
        for (const auto& t : out) {
            f.keys->verify(t);  // warm, as for pb's keys
        }
        return out;
    }();
    std::mt19937 rng(7);
    std::uniform_int_distribution<int> pick(0, k_imported - 1);
    for (auto _ : state) {
        auto r = f.keys->verify(texts[static_cast<std::size_t>(pick(rng))]);
        benchmark::DoNotOptimize(r.valid);
    }
    state.SetItemsProcessed(state.iterations());
    f.keys->flush_usage();
}
BENCHMARK(BM_KeysVerifyImported)->MinTime(2.0);

// The change detector every verify consults (PRAGMA data_version on SQLite).
void BM_StoreChangedElsewhere(benchmark::State& state) {
    auto& f = fixture();
    for (auto _ : state) {
        benchmark::DoNotOptimize(f.store->changed_elsewhere());
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_StoreChangedElsewhere);

// keys.verify's whole judgement (admission::Pipeline at its verify door,
// the answer as JSON), as every surface runs it: a plain key against a key
// of an identity with two named limits (the identity's auto "requests", the
// key's "tokens" at cost 5), limits in memory. Issue 25's target: the second
// at least 0.8x the first.
struct PipelineFixture {
    pb::test::TempDir dir;
    std::unique_ptr<pb::Services> services;
    std::string plain;
    std::string limited;

    PipelineFixture() {
        pb::log::init("warn", "text");
        std::ofstream(dir.file("pb.yaml")) << "";
        pb::ConfigInputs in;
        in.file = dir.file("pb.yaml");
        in.flags["db.url"] = dir.file("pb.db");
        in.flags["log.level"] = "off";
        services =
            pb::Services::open(pb::Config::load(in), pb::SystemClock::instance(), {.pool_size = 2});
        auto& keys = services->keys();
        plain = keys.create(pb::keys::NewKey{.owner = "plain"}, "bench").key;
        keys.identities().create(
            pb::keys::NewIdentity{.id = "acme",
                                  .limits = nlohmann::json::array({"requests=10000000/s:auto"})},
            "bench");
        limited =
            keys.create(pb::keys::NewKey{.owner = "acme",
                                         .identity_id = std::string("acme"),
                                         .limits = nlohmann::json::array({"tokens=10000000/s"})},
                        "bench")
                .key;
    }
};

PipelineFixture& pipeline_fixture() {
    static PipelineFixture f;
    return f;
}

void BM_VerifyPlainKey(benchmark::State& state) {
    auto& f = pipeline_fixture();
    auto& verifier = f.services->key_verifier();
    for (auto _ : state) {
        auto r = verifier.verify(f.plain);
        benchmark::DoNotOptimize(r);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_VerifyPlainKey)->MinTime(2.0);

void BM_VerifyIdentityTwoLimits(benchmark::State& state) {
    auto& f = pipeline_fixture();
    auto& verifier = f.services->key_verifier();
    const std::vector<pb::keys::LimitCost> costs{{"tokens", 5}};
    for (auto _ : state) {
        auto r = verifier.verify(f.limited, &costs);
        benchmark::DoNotOptimize(r);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_VerifyIdentityTwoLimits)->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
