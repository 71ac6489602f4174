// states.update in-process on SQLite (issue target: at least 5,000 updates per
// second, batched in transactions where the API allows). Each update is one
// read-modify-write with its history row and outbox event.
//   BM_StatesUpdate          StateService::update, one transaction each
//   BM_StatesUpdateMany/N    StateService::update_many, N updates per transaction
//   BM_StatesUpdateDispatch  the states.update op through runtime::dispatch, as
//                            pbctl's local mode runs it (validation and audit row too)
#include <fstream>

#include <benchmark/benchmark.h>

#include "common/core/clock.hpp"
#include "common/core/config.hpp"
#include "common/core/log.hpp"
#include "common/runtime/dispatcher.hpp"
#include "common/runtime/op_table.hpp"
#include "common/runtime/services.hpp"
#include "common/states/service.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using nlohmann::json;

constexpr int k_states = 1'000;

std::string state_id(std::int64_t i) {
    return "session_" + std::to_string(i % k_states);
}

struct Fixture {
    pb::test::TempDir dir;
    std::unique_ptr<pb::Services> services;

    Fixture() {
        pb::log::init("warn", "text");
        std::ofstream(dir.file("pb.yaml")) << "";
        pb::ConfigInputs in;
        in.file = dir.file("pb.yaml");
        in.flags["db.url"] = dir.file("bench.db");
        services =
            pb::Services::open(pb::Config::load(in), pb::SystemClock::instance(), {.pool_size = 1});
        for (int i = 0; i < k_states; ++i) {
            services->states().register_state(
                pb::states::NewState{.id = state_id(i),
                                     .type = pb::states::StateType::session,
                                     .data = {{"user_id", std::to_string(i)}}},
                "bench");
        }
    }
};

Fixture& fixture() {
    static Fixture f;
    return f;
}

json payload(std::int64_t n) {
    return {{"last_activity", n}, {"page", "/checkout"}};
}

void BM_StatesUpdate(benchmark::State& state) {
    auto& f = fixture();
    auto& svc = f.services->states();
    std::int64_t n = 0;
    for (auto _ : state) {
        auto s =
            svc.update(pb::states::StateUpdate{.id = state_id(n), .data = payload(n)}, "bench");
        benchmark::DoNotOptimize(s.version);
        ++n;
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_StatesUpdate)->MinTime(2.0)->UseRealTime();

void BM_StatesUpdateMany(benchmark::State& state) {
    auto& f = fixture();
    auto& svc = f.services->states();
    const auto batch = state.range(0);
    std::int64_t n = 0;
    std::vector<pb::states::StateUpdate> updates(static_cast<std::size_t>(batch));
    for (auto _ : state) {
        for (auto& u : updates) {
            u = pb::states::StateUpdate{.id = state_id(n), .data = payload(n)};
            ++n;
        }
        auto done = svc.update_many(updates, "bench");
        benchmark::DoNotOptimize(done.data());
    }
    state.SetItemsProcessed(state.iterations() * batch);
}
BENCHMARK(BM_StatesUpdateMany)->Arg(10)->Arg(100)->MinTime(2.0)->UseRealTime();

void BM_StatesUpdateDispatch(benchmark::State& state) {
    auto& f = fixture();
    const auto* op = pb::runtime::op_table().find("states.update");
    const pb::ops::Caller caller{"local:bench", {"admin"}};
    std::int64_t n = 0;
    for (auto _ : state) {
        auto r = pb::runtime::dispatch(*f.services, *op,
                                       json{{"id", state_id(n)}, {"data", payload(n)}}, caller);
        benchmark::DoNotOptimize(r);
        ++n;
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_StatesUpdateDispatch)->MinTime(2.0)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
