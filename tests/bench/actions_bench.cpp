// What an action costs besides its command: checking and placing the
// arguments, and starting a command (posix_spawn, pipes, wait, audit row).
#include <filesystem>
#include <fstream>

#include <benchmark/benchmark.h>

#include "common/actions/args.hpp"
#include "common/actions/catalog.hpp"
#include "common/actions/loader.hpp"
#include "common/actions/runner.hpp"
#include "common/actions/template.hpp"
#include "common/core/clock.hpp"
#include "common/runtime/op_table.hpp"
#include "common/runtime/services.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using nlohmann::json;

const char* const k_action = R"(name: deploy
description: d
permission: deploy:run
params:
  service: {type: string, pattern: "[a-z][a-z0-9-]*", required: true}
  replicas: {type: int, min: 1, max: 50, default: 2}
  wait: {type: duration, default: 30s}
  tags: {type: list}
  colour: {type: enum, values: [blue, green]}
run:
  command: [/bin/true, "--service={{service}}", "--replicas={{replicas}}", "--wait={{wait}}", --, "{{tags}}"]
)";

void BM_ValidateAndRender(benchmark::State& state) {
    pb::test::TempDir dir;
    std::ofstream(dir.file("a.yaml")) << k_action;
    const auto action = *pb::actions::load_file(dir.file("a.yaml"), nullptr).action;
    const json raw{
        {"service", "api-gateway"}, {"replicas", "4"}, {"tags", {"a", "b"}}, {"colour", "blue"}};
    for (auto _ : state) {
        const auto values = pb::actions::validate_values(action, raw);
        auto argv = pb::actions::render_argv(action, values, pb::actions::Reveal::values);
        benchmark::DoNotOptimize(argv);
    }
}
BENCHMARK(BM_ValidateAndRender);

void BM_RunTrue(benchmark::State& state) {
    pb::test::TempDir dir;
    std::filesystem::create_directories(dir.file("actions"));
    std::ofstream(dir.file("actions/a.yaml")) << k_action;
    std::ofstream(dir.file("pb.yaml")) << "";
    pb::ConfigInputs in;
    in.file = dir.file("pb.yaml");
    in.flags["db.url"] = dir.file("pb.db");
    in.flags["actions.paths"] = dir.file("actions");
    in.flags["log.level"] = "off";
    auto services =
        pb::Services::open(pb::Config::load(in), pb::SystemClock::instance(), {.pool_size = 2});
    const auto action = services->actions().find("deploy");
    const pb::ops::Caller caller{"local:bench", {"admin"}};
    for (auto _ : state) {
        auto r = pb::actions::run_action(*services, *action, {{"service", "api"}}, caller,
                                         pb::actions::RunMode::run);
        benchmark::DoNotOptimize(r);
    }
}
BENCHMARK(BM_RunTrue)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
