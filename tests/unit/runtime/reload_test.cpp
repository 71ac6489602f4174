// Services::apply (a reload): one staging copy read by the same reader as
// start-up and --check-config, applied whole or not at all.
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "common/admission/pipeline.hpp"
#include "common/core/error.hpp"
#include "common/core/swappable.hpp"
#include "common/limits/service.hpp"
#include "common/runtime/reloadable.hpp"
#include "common/runtime/services.hpp"
#include "tests/support/temp_dir.hpp"

namespace pb::runtime {
namespace {

class ReloadTest : public ::testing::Test {
  protected:
    ReloadTest() {
        write("limits:\n  key:\n    rate: \"10/min\"\n");
        services = Services::open(load(), clock, {.pool_size = 1});
    }

    void write(const std::string& text) { std::ofstream(dir.file("pb.yaml")) << text; }
    Config load() {
        ConfigInputs in;
        in.file = dir.file("pb.yaml");
        in.flags["db.url"] = dir.file("pb.db");
        return Config::load(in);
    }

    test::TempDir dir;
    ManualClock clock{1'700'000'000'000};
    std::unique_ptr<Services> services;
};

// Pins: a reload swaps the limits policy the services check with, reports the
// key by name, and makes the new configuration the one config() shows.
TEST_F(ReloadTest, AppliesNewPoliciesAndReportsTheKeys) {
    EXPECT_EQ(services->limits().settings().key->burst, 10);
    write("limits:\n  key:\n    rate: \"3/min\"\nbans:\n  allow: \"10.0.0.0/8\"\n");
    const auto report = services->apply(load());
    EXPECT_EQ(report.changed, (std::vector<std::string>{"limits.key.rate", "bans.allow"}));
    EXPECT_TRUE(report.restart_required.empty());
    EXPECT_EQ(services->limits().settings().key->burst, 3);
    EXPECT_EQ(services->bans().settings().allow.size(), 1u);
    EXPECT_EQ(services->config().get("limits.key.rate"), "3/min");
    EXPECT_EQ(report.to_json()["file"], dir.file("pb.yaml"));
}

// Pins: a bad value anywhere refuses the whole reload with invalid_argument
// naming the key; the settings in force, limits included, stay.
TEST_F(ReloadTest, ABadValueChangesNothing) {
    for (const std::string bad :
         {"limits:\n  key:\n    rate: \"3/min\"\nserver:\n  trusted_proxies: \"10.0.0.0/99\"\n",
          "limits:\n  key:\n    rate: \"3/min\"\nlog:\n  level: loud\n",
          "limits:\n  key:\n    rate: \"3/min\"\nbans:\n  auto:\n    factor: 0\n",
          "limits:\n  key:\n    rate: \"3/min\"\ntokens:\n  default_alg: none\n"}) {
        write(bad);
        try {
            services->apply(load());
            ADD_FAILURE() << "accepted: " << bad;
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::invalid_argument) << e.what();
            EXPECT_TRUE(e.details().contains("key")) << e.what();
        }
        EXPECT_EQ(services->limits().settings().key->burst, 10) << bad;
        EXPECT_EQ(services->config().get("limits.key.rate"), "10/min") << bad;
    }
}

// Pins: settings a reload cannot apply are named as restart_required, not
// applied; pbctl's own settings (cli.*) are neither.
TEST_F(ReloadTest, RestartSettingsAreNamedNotApplied) {
    write(
        "limits:\n  key:\n    rate: \"10/min\"\n  max_tracked: 1000\nserver:\n  listen: "
        "\"127.0.0.1:9999\"\ncli:\n  timeout: 9s\ntokens:\n  issuer: other\n  leeway: 5s\n");
    const auto report = services->apply(load());
    EXPECT_EQ(report.changed, (std::vector<std::string>{"tokens.leeway"}));
    EXPECT_EQ(report.restart_required,
              (std::vector<std::string>{"server.listen", "tokens.issuer", "limits.max_tracked"}));
    EXPECT_EQ(services->tokens().settings().leeway_ms, 5000);
    EXPECT_EQ(services->tokens().settings().issuer, "pb");  // as built
    EXPECT_EQ(services->limits().settings().max_tracked, 250'000u);
}

// Pins: on_change sorts every key of the table, and pbctl on the database
// (no reloader installed) refuses system.reload, saying to use --server.
TEST_F(ReloadTest, OnChangeAndNoDaemon) {
    EXPECT_EQ(on_change("limits.ip.rate"), OnChange::reload);
    EXPECT_EQ(on_change("server.trusted_proxies"), OnChange::reload);
    EXPECT_EQ(on_change("tokens.jwks_cache_ttl"), OnChange::reload);
    EXPECT_EQ(on_change("redis.on_failure_api"), OnChange::reload);
    EXPECT_EQ(on_change("redis.url"), OnChange::restart);
    EXPECT_EQ(on_change("db.url"), OnChange::restart);
    EXPECT_EQ(on_change("tokens.hmac_secret"), OnChange::restart);
    EXPECT_EQ(on_change("cli.server"), OnChange::ignored);
    try {
        services->reload();
        ADD_FAILURE() << "reloaded without a daemon";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
        EXPECT_NE(std::string(e.what()).find("--server"), std::string::npos) << e.what();
    }
}

// Pins: a reader of a Swappable sees the old value or the new one, whole,
// while another thread swaps, and a reference it took stays valid.
TEST(Swappable, ReadersSeeWholeValuesAcrossSwaps) {
    struct Pair {
        int a;
        int b;
    };
    Swappable<Pair> s(Pair{0, 0});
    const auto& first = s.get();
    std::atomic<bool> torn{false};
    std::thread reader([&] {
        for (int i = 0; i < 200'000; ++i) {
            const auto& p = s.get();
            if (p.a != p.b) {
                torn = true;
            }
        }
    });
    for (int i = 1; i <= 1000; ++i) {
        s.swap(Pair{i, i});
    }
    reader.join();
    EXPECT_FALSE(torn);
    EXPECT_EQ(first.a, 0);  // still readable
    EXPECT_EQ(s->a, 1000);
}

}  // namespace
}  // namespace pb::runtime
