// The PostgreSQL password, against a role of the test server that must give
// one (scram-sha-256): from the environment, a file, or the secrets service
// when that is Vault; never in an error, status or config output.
#include <fstream>

#include <gtest/gtest.h>

#include "tests/cli/cli_fixture.hpp"
#include "tests/support/kv2_server.hpp"
#include "tests/support/test_db.hpp"

namespace pb::cli::test {
namespace {

using pb::test::Backend;

constexpr const char* k_password = "pb-test-password";  // tests/support/pg_server.sh

class PostgresPassword : public PbctlTest {
  protected:
    PostgresPassword() {
        auto url = db.url();
        url.replace(url.find("pb@"), 3, "pb_password@");
        env["PB_DB"] = url;
        env["PB_MASTER_KEY_FILE"] = dir.file("master.key");
    }

    pb::test::TestDb db{Backend::postgres};
};

TEST_F(PostgresPassword, RefusedWithoutOrWithAWrongOneAndNeverEchoed) {
    auto r = pbctl({"db", "status"});
    EXPECT_EQ(r.exit_code, 7) << r.err;  // unavailable
    env["PB_DB_PASSWORD"] = "not-the-password";
    r = pbctl({"db", "status"});
    EXPECT_EQ(r.exit_code, 7) << r.err;
    EXPECT_EQ(r.err.find("not-the-password"), std::string::npos) << r.err;
    EXPECT_EQ(r.out.find("not-the-password"), std::string::npos) << r.out;
}

TEST_F(PostgresPassword, FromTheEnvironmentOrAFile) {
    env["PB_DB_PASSWORD"] = k_password;
    const auto status = ok({"db", "status"});
    EXPECT_EQ(status.find(k_password), std::string::npos);
    EXPECT_EQ(ok({"config", "show"}).find(k_password), std::string::npos);
    env.erase("PB_DB_PASSWORD");
    std::ofstream(dir.file("pw")) << k_password << "\n";
    env["PB_DB_PASSWORD_FILE"] = dir.file("pw");
    ok({"db", "status"});
}

TEST_F(PostgresPassword, FromVaultThroughASecretReference) {
    pb::test::Kv2Server vault;
    // The secret is put with pbctl itself, through the vault backend.
    auto put_env = env;
    put_env["PB_DB"] = dir.file("scratch.db");
    put_env["PB_SECRETS_BACKEND"] = "vault";
    put_env["VAULT_ADDR"] = vault.address();
    put_env["VAULT_TOKEN"] = pb::test::Kv2Server::k_root_token;
    const auto put = pb::test::run({pb::test::pbctl_path(), "vault", "put", "app/db", "password=-"},
                                   put_env, k_password);
    ASSERT_EQ(put.exit_code, 0) << put.err;

    env["PB_SECRETS_BACKEND"] = "vault";
    env["VAULT_ADDR"] = vault.address();
    env["VAULT_TOKEN"] = pb::test::Kv2Server::k_root_token;
    env["PB_DB_PASSWORD"] = "secret:app/db#password";
    const auto status = ok_json({"db", "status"});
    EXPECT_EQ(status.at("backend"), "postgresql");
    const auto explained = ok_json({"config", "explain", "db.password"});
    EXPECT_EQ(explained.at("source"), "secret") << explained;
    EXPECT_EQ(explained.at("value"), "<redacted>") << explained;
    EXPECT_EQ(explained.dump().find(k_password), std::string::npos);

    // With the local backend a reference cannot work: that store is this database.
    env["PB_SECRETS_BACKEND"] = "local";
    const auto r = pbctl({"db", "status"});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("secrets.backend vault"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace pb::cli::test
