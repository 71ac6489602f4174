// The cost of the chained audit row per change: keys.create through
// dispatch() (the key and its chained row in one transaction, as pbctl and
// pbd run it) against the same change with the audit row of before the chain
// (an unchained INSERT in a transaction of its own after the change), and
// with no row at all. Run (SQLite in a temp dir; PB_BENCH_DB=postgresql://…
// for PostgreSQL, with PB_MASTER_KEY_FILE):
//   build/dev/bin/pb_bench_audit --benchmark_repetitions=5
//       --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true
#include <cstdlib>
#include <fstream>

#include <benchmark/benchmark.h>

#include "common/core/clock.hpp"
#include "common/core/log.hpp"
#include "common/runtime/dispatcher.hpp"
#include "common/runtime/op_table.hpp"
#include "common/runtime/services.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using nlohmann::json;

struct Fixture {
    pb::test::TempDir dir;
    std::unique_ptr<pb::Services> services;
    const pb::ops::Op* op = nullptr;
    pb::ops::Caller caller{"local:bench", {"admin"}};

    Fixture() {
        pb::log::init("warn", "text");
        std::ofstream(dir.file("pb.yaml")) << "";
        pb::ConfigInputs in;
        in.file = dir.file("pb.yaml");
        const char* url = std::getenv("PB_BENCH_DB");
        in.flags["db.url"] = url != nullptr ? url : dir.file("bench.db");
        if (const char* key = std::getenv("PB_MASTER_KEY_FILE")) {
            in.flags["security.master_key_file"] = key;
        }
        services =
            pb::Services::open(pb::Config::load(in), pb::SystemClock::instance(), {.pool_size = 2});
        op = pb::runtime::op_table().find("keys.create");
    }
};

Fixture& fixture() {
    static Fixture f;
    return f;
}

// What every surface runs: the key and its chained audit row, one transaction.
void BM_KeysCreateChained(benchmark::State& state) {
    auto& f = fixture();
    for (auto _ : state) {
        auto out = pb::runtime::dispatch(*f.services, *f.op, json{{"owner", "bench"}}, f.caller);
        benchmark::DoNotOptimize(out);
    }
    state.counters["creates/s"] =
        benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

// Before the chain: the change commits, then an unchained row in a second transaction.
void BM_KeysCreateUnchainedRowAfter(benchmark::State& state) {
    auto& f = fixture();
    for (auto _ : state) {
        auto created = f.services->keys().create({.owner = "bench"}, f.caller.actor);
        f.services->store().transaction([&](pb::store::Connection& c) {
            c.exec(
                "INSERT INTO audit_log (at, actor, op, target, outcome, args) VALUES ($1, $2, "
                "$3, $4, $5, $6)",
                {pb::SystemClock::instance().now(), f.caller.actor, std::string("keys.create"),
                 std::string("bench"), std::string("ok"), std::string(R"({"owner":"bench"})")});
        });
        benchmark::DoNotOptimize(created);
    }
    state.counters["creates/s"] =
        benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

// The change alone, no audit row: the floor.
void BM_KeysCreateNoRow(benchmark::State& state) {
    auto& f = fixture();
    for (auto _ : state) {
        auto created = f.services->keys().create({.owner = "bench"}, f.caller.actor);
        benchmark::DoNotOptimize(created);
    }
    state.counters["creates/s"] =
        benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

// The row alone: a chained append (head read under lock, HMAC, insert, head
// update) in its own transaction...
void BM_AuditRowChained(benchmark::State& state) {
    auto& f = fixture();
    const pb::events::AuditRecord row{f.caller.actor, "keys.create", "bench", "ok",
                                      R"({"owner":"bench"})"};
    for (auto _ : state) {
        f.services->audit().record(row);
    }
    state.counters["rows/s"] =
        benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

// ...and the unchained INSERT of before, in its own transaction.
void BM_AuditRowUnchained(benchmark::State& state) {
    auto& f = fixture();
    for (auto _ : state) {
        f.services->store().transaction([&](pb::store::Connection& c) {
            c.exec(
                "INSERT INTO audit_log (at, actor, op, target, outcome, args) VALUES ($1, $2, "
                "$3, $4, $5, $6)",
                {pb::SystemClock::instance().now(), f.caller.actor, std::string("keys.create"),
                 std::string("bench"), std::string("ok"), std::string(R"({"owner":"bench"})")});
        });
    }
    state.counters["rows/s"] =
        benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

BENCHMARK(BM_AuditRowChained)->MinTime(1.0)->UseRealTime();
BENCHMARK(BM_AuditRowUnchained)->MinTime(1.0)->UseRealTime();
BENCHMARK(BM_KeysCreateChained)->MinTime(1.0)->UseRealTime();
BENCHMARK(BM_KeysCreateUnchainedRowAfter)->MinTime(1.0)->UseRealTime();
BENCHMARK(BM_KeysCreateNoRow)->MinTime(1.0)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
