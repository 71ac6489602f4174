#pragma once

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/actions/catalog.hpp"
#include "common/actions/runner.hpp"
#include "common/core/clock.hpp"
#include "common/runtime/services.hpp"
#include "tests/support/errors.hpp"
#include "tests/support/temp_dir.hpp"

namespace pb::actions::test {

using nlohmann::json;
using pb::test::error_code_of;

// The shipped script that prints its argv, environment and cwd as JSON.
inline std::string print_argv_script() {
    return std::string(PB_SOURCE_DIR) + "/tests/unit/actions/scripts/print_argv.py";
}

// Services on a temp database whose actions.paths is a temp folder the test
// writes action files into; the catalog is opened by the first actions() call.
class ActionTest : public ::testing::Test {
  protected:
    ActionTest() {
        std::filesystem::create_directories(actions_dir());
        std::ofstream(dir.file("pb.yaml")) << "";
    }

    std::string actions_dir() const { return dir.file("actions"); }

    // Writes `yaml` as actions/<file>.
    std::string write_action(const std::string& file, const std::string& yaml) {
        const auto path = actions_dir() + "/" + file;
        std::ofstream(path) << yaml;
        if (m_services) {
            m_services->actions().reload();
        }
        return path;
    }

    Services& services() {
        if (!m_services) {
            ConfigInputs in;
            in.file = dir.file("pb.yaml");
            in.flags["db.url"] = dir.file("pb.db");
            in.flags["actions.paths"] = actions_dir();
            in.flags["actions.kill_grace"] = kill_grace;
            in.flags["actions.max_concurrent"] = max_concurrent;
            m_services =
                Services::open(Config::load(in), SystemClock::instance(), {.pool_size = 2});
        }
        return *m_services;
    }

    json run(const std::string& name, const json& args, RunMode mode = RunMode::run,
             const ops::Caller& caller = admin()) {
        return run_action(services(), *services().actions().find(name), args, caller, mode);
    }

    static const ops::Caller& admin() {
        static const ops::Caller c{"local:test", {"admin"}};
        return c;
    }

    pb::test::TempDir dir;
    std::string kill_grace = "5s";
    std::string max_concurrent = "4";

  private:
    std::unique_ptr<Services> m_services;
};

}  // namespace pb::actions::test
