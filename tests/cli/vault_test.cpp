// `pbctl vault …` as a user runs it: values from stdin and files, hidden in
// tables, bare with -q, never in the audit log; the same commands on Vault.

#include <fstream>

#include "common/store/store.hpp"
#include "tests/cli/cli_fixture.hpp"
#include "tests/support/kv2_server.hpp"

namespace pb::cli::test {
namespace {

constexpr const char* k_password = "pw-7f3a9c1e-never-shown";

class VaultCliTest : public PbctlTest {
  protected:
    // Every audit row's text.
    std::string audit_rows() {
        auto st = store::open_store(db_path(), store::StoreOptions{.pool_size = 1});
        std::string all;
        st->transaction(
            [&](store::Connection& c) {
                for (const auto& r : c.query("SELECT op, target, outcome, args FROM audit_log")) {
                    all += r.get_text(0) + " " + r.get_text(1) + " " + r.get_text(2) + " " +
                           r.get_text(3) + "\n";
                }
            },
            store::TxMode::read);
        return all;
    }
};

// A value read from stdin is stored; get hides it in the table, --show and
// -o json show it, --field -q prints it bare; the audit log never holds it.
TEST_F(VaultCliTest, StdinValuesHiddenUnlessAsked) {
    EXPECT_EQ(ok({"vault", "put", "app/db", "username=svc", "password=-", "-q"},
                 std::string(k_password) + "\n"),
              "1\n");
    const auto table = ok({"vault", "get", "app/db"});
    EXPECT_EQ(table.find(k_password), std::string::npos) << table;
    EXPECT_NE(table.find("hidden"), std::string::npos) << table;
    EXPECT_NE(ok({"vault", "get", "app/db", "--show"}).find(k_password), std::string::npos);
    EXPECT_EQ(ok({"vault", "get", "app/db", "--field", "password", "-q"}),
              std::string(k_password) + "\n");
    const auto j = ok_json({"vault", "get", "app/db"});
    EXPECT_EQ(j.at("data").at("password"), k_password);
    EXPECT_EQ(j.at("data").at("username"), "svc");
    const auto field_table = ok({"vault", "get", "app/db", "--field", "password"});
    EXPECT_EQ(field_table.find(k_password), std::string::npos) << field_table;
    const auto audit = audit_rows();
    EXPECT_NE(audit.find("secrets.put app/db ok"), std::string::npos) << audit;
    EXPECT_EQ(audit.find(k_password), std::string::npos) << audit;
}

// k=@file reads the file as it is (a trailing newline included).
TEST_F(VaultCliTest, ValueFromFile) {
    const auto file = dir.file("cert.pem");
    std::ofstream(file) << "-----BEGIN-----\nabc\n-----END-----\n";
    ok({"vault", "put", "tls/web", "cert=@" + file});
    EXPECT_EQ(ok_json({"vault", "get", "tls/web"}).at("data").at("cert"),
              "-----BEGIN-----\nabc\n-----END-----\n");
    const auto r = pbctl({"vault", "put", "tls/web", "cert=@" + dir.file("missing")});
    EXPECT_EQ(r.exit_code, 2) << r.err;
}

// --cas, versions, patch, list, metadata, delete, undelete and destroy, with exit codes.
TEST_F(VaultCliTest, VersionLifecycle) {
    ok({"vault", "put", "app/db", "password=one", "--cas", "0"});
    auto r = pbctl({"vault", "put", "app/db", "password=two", "--cas", "0"});
    EXPECT_EQ(r.exit_code, 5) << r.err;  // conflict
    EXPECT_EQ(r.err.find("two"), std::string::npos) << r.err;
    EXPECT_EQ(ok({"vault", "put", "app/db", "password=two", "--cas", "1", "-q"}), "2\n");
    EXPECT_EQ(ok({"vault", "patch", "app/db", "user=svc", "-q"}), "3\n");
    EXPECT_EQ(ok({"vault", "get", "app/db", "--version", "1", "--field", "password", "-q"}),
              "one\n");
    const auto patched = ok_json({"vault", "get", "app/db"}).at("data");
    EXPECT_EQ(patched.at("password"), "two");
    EXPECT_EQ(patched.at("user"), "svc");
    ok({"vault", "put", "app/api", "k=v"});
    ok({"vault", "put", "app/sub/x", "k=v"});
    const auto list = ok_json({"vault", "list", "app/"}).at("keys");
    ASSERT_EQ(list.size(), 3U);
    EXPECT_EQ(list[2].at("key"), "sub/");
    EXPECT_EQ(list[2].at("kind"), "folder");
    ok({"vault", "delete", "app/db", "--versions", "2,3"});
    EXPECT_EQ(pbctl({"vault", "get", "app/db"}).exit_code, 4);
    ok({"vault", "undelete", "app/db", "--versions", "3"});
    EXPECT_EQ(ok({"vault", "get", "app/db", "--field", "user", "-q"}), "svc\n");
    ok({"vault", "destroy", "app/db", "--versions", "1"});
    const auto meta = ok_json({"vault", "metadata", "app/db"});
    EXPECT_EQ(meta.at("current_version"), 3);
    EXPECT_EQ(meta.at("versions")[0].at("state"), "destroyed");
    EXPECT_EQ(meta.at("versions")[1].at("state"), "deleted");
    EXPECT_EQ(meta.at("versions")[2].at("state"), "live");
    ok({"vault", "configure", "app/db", "--max-versions", "5", "--custom", R"({"owner":"pay"})"});
    EXPECT_EQ(ok_json({"vault", "metadata", "app/db"}).at("custom_metadata").at("owner"), "pay");
    EXPECT_EQ(pbctl({"vault", "undelete", "app/db"}).exit_code, 2);  // --versions required
    EXPECT_EQ(pbctl({"vault", "get", "no/such"}).exit_code, 4);
}

// Bad input: a clear message, exit 2, and nothing stored.
TEST_F(VaultCliTest, BadInputChangesNothing) {
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"vault", "put", "/abs", "k=v"},
          std::vector<std::string>{"vault", "put", "a/../b", "k=v"},
          std::vector<std::string>{"vault", "put", "app/db", "novalue"},
          std::vector<std::string>{"vault", "put", "app/db", "a=-", "b=-"},
          std::vector<std::string>{"vault", "delete", "app/db", "--versions", "x"}}) {
        const auto r = pbctl(args);
        EXPECT_EQ(r.exit_code, 2) << describe(args, r);
        EXPECT_FALSE(r.err.empty());
    }
    EXPECT_TRUE(ok_json({"vault", "list"}).at("keys").empty());
}

// A config value may be a secret reference; config explain names it and hides the value.
TEST_F(VaultCliTest, ConfigExplainNamesTheSecret) {
    const std::string jwt = "jwt-secret-0123456789abcdef0123456789";
    ok({"vault", "put", "app/jwt", "key=-"}, jwt);
    std::ofstream(dir.file("pb.yaml")) << "tokens:\n  hmac_secret: secret:app/jwt#key\n";
    const auto e = ok_json({"config", "explain", "tokens.hmac_secret"});
    EXPECT_EQ(e.at("source"), "secret");
    EXPECT_EQ(e.at("origin"), "secret:app/jwt#key");
    EXPECT_EQ(e.dump().find(jwt), std::string::npos) << e.dump();
    const auto text = ok({"config", "show"});
    EXPECT_EQ(text.find(jwt), std::string::npos);
    std::ofstream(dir.file("pb.yaml")) << "tokens:\n  hmac_secret: secret:app/jwt#nope\n";
    const auto r = pbctl({"config", "explain", "tokens.hmac_secret"});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("tokens.hmac_secret"), std::string::npos) << r.err;
}

// The same commands on the vault backend, configured with Vault's own variables.
TEST_F(VaultCliTest, VaultBackend) {
    pb::test::Kv2Server server;
    env["PB_SECRETS_BACKEND"] = "vault";
    env["VAULT_ADDR"] = server.address();
    env["VAULT_TOKEN"] = pb::test::Kv2Server::k_root_token;
    ok({"vault", "put", "app/db", "password=-"}, k_password);
    EXPECT_EQ(ok({"vault", "get", "app/db", "--field", "password", "-q"}),
              std::string(k_password) + "\n");
    const auto status = ok_json({"vault", "status"});
    EXPECT_EQ(status.at("backend"), "vault");
    EXPECT_EQ(status.at("address"), server.address());
    EXPECT_EQ(status.at("sealed"), false);
    EXPECT_EQ(status.at("version"), "1.15.2");
    EXPECT_EQ(pbctl({"vault", "put", "app/db", "password=x", "--cas", "0"}).exit_code, 5);
    EXPECT_EQ(ok_json({"health"}).at("components").at("secrets").at("status"), "ok");
    server.sealed = true;
    const auto h = pbctl({"health", "-o", "json"});
    EXPECT_EQ(h.exit_code, 7) << h.out << h.err;
    EXPECT_NE(h.out.find("\"sealed\": true"), std::string::npos) << h.out;
    const auto r = pbctl({"vault", "get", "app/db"});
    EXPECT_EQ(r.exit_code, 7) << r.err;  // unavailable
    EXPECT_NE(r.err.find("sealed"), std::string::npos) << r.err;
    server.sealed = false;
    env["VAULT_TOKEN"] = "wrong";
    EXPECT_EQ(pbctl({"vault", "get", "app/db"}).exit_code, 6);  // permission_denied
    // Nothing was written to the local store.
    env.erase("PB_SECRETS_BACKEND");
    EXPECT_EQ(pbctl({"vault", "get", "app/db"}).exit_code, 4);
}

}  // namespace
}  // namespace pb::cli::test
