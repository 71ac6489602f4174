// The real pbctl on PostgreSQL: status, concurrent migrations, shared uses.
#include <atomic>
#include <fstream>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/store/migrations.hpp"
#include "tests/cli/cli_fixture.hpp"
#include "tests/support/test_db.hpp"

namespace pb::cli::test {
namespace {

using pb::test::Backend;

// pbctl on a fresh schema of the test PostgreSQL server, with a password in
// the URL (the test server trusts loopback, so any password is accepted).
class PbctlOnPostgres : public PbctlTest {
  protected:
    PbctlOnPostgres() {
        auto url = db.url();
        url.replace(url.find("pb@"), 3, "pb:hunter2@");
        env["PB_DB"] = url;
        env["PB_MASTER_KEY_FILE"] = dir.file("master.key");
    }

    pb::test::TestDb db{Backend::postgres};
};

// db status names the backend, schema, pool and latency, and never the password.
TEST_F(PbctlOnPostgres, DbStatusWithoutThePassword) {
    const auto j = ok_json({"db", "status"});
    EXPECT_EQ(j.at("backend"), "postgresql");
    EXPECT_EQ(j.at("schema_version"), store::migrations().back().version);
    EXPECT_TRUE(j.at("pending").empty());
    EXPECT_TRUE(j.contains("pool_size"));
    EXPECT_TRUE(j.contains("pool_in_use"));
    EXPECT_GE(j.at("latency_ms").get<double>(), 0.0);
    EXPECT_EQ(j.at("location").get<std::string>().find("hunter2"), std::string::npos);
    EXPECT_EQ(ok({"config", "show"}).find("hunter2"), std::string::npos);
    EXPECT_EQ(ok({"db", "status"}).find("hunter2"), std::string::npos);
}

// A password file that cannot be read is a clear "unavailable", naming the
// file; a readable one is used (the test server accepts any password).
TEST_F(PbctlOnPostgres, PasswordFile) {
    env["PB_DB_PASSWORD_FILE"] = dir.file("missing");
    const auto r = pbctl({"db", "status"});
    EXPECT_EQ(r.exit_code, 7) << r.err;  // unavailable
    EXPECT_NE(r.err.find("db.password_file"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(dir.file("missing")), std::string::npos) << r.err;
    std::ofstream(dir.file("db.password")) << "from-a-file\n";
    env["PB_DB_PASSWORD_FILE"] = dir.file("db.password");
    const auto out = ok({"db", "status"});
    EXPECT_EQ(out.find("from-a-file"), std::string::npos);
    EXPECT_EQ(out.find("hunter2"), std::string::npos);
}

// Several pbctl migrating one fresh database at once all succeed, and the
// schema ends current with each step recorded once.
TEST_F(PbctlOnPostgres, MigrateFromSeveralProcessesAtOnce) {
    constexpr int k_processes = 4;
    std::vector<pb::test::RunResult> results(k_processes);
    std::vector<std::thread> threads;
    for (int i = 0; i < k_processes; ++i) {
        threads.emplace_back([&, i] { results[i] = pbctl({"db", "migrate", "-o", "json"}); });
    }
    for (auto& t : threads) {
        t.join();
    }
    for (const auto& r : results) {
        EXPECT_EQ(r.exit_code, 0) << r.err;
    }
    const auto j = ok_json({"db", "status"});
    EXPECT_EQ(j.at("schema_version"), store::migrations().back().version);
}

// Two streams of pbctl processes verifying one key with 20 uses grant exactly 20.
TEST_F(PbctlOnPostgres, RemainingUsesAreSharedByProcesses) {
    const auto key = create_key({"--remaining", "20"});
    std::atomic<int> granted{0};
    std::atomic<int> refused{0};
    auto stream = [&] {
        for (int i = 0; i < 20; ++i) {
            const auto r = pbctl({"keys", "verify", "-"}, key);
            (r.exit_code == 0 ? granted : refused) += 1;
        }
    };
    std::thread a(stream);
    std::thread b(stream);
    a.join();
    b.join();
    EXPECT_EQ(granted.load(), 20);
    EXPECT_EQ(refused.load(), 20);
}

}  // namespace
}  // namespace pb::cli::test
