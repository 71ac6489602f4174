// What only the Vault backend has: the network, authentication, and Vault's
// failure modes, against the KV v2 test server.

#include <fstream>
#include <thread>

#include "tests/support/errors.hpp"
#include "tests/support/process.hpp"
#include "tests/unit/secrets/backend_fixture.hpp"

namespace pb::secrets::test {
namespace {

using pb::test::error_message_of;

class VaultBackendTest : public SecretsEnv, public ::testing::Test {
  protected:
    VaultBackendTest() { settings = vault_settings(); }

    VaultSettings settings;
};

// A port nothing listens on: unavailable, naming the address.
TEST_F(VaultBackendTest, ServerDownIsUnavailable) {
    std::string address;
    {
        pb::test::Kv2Server gone;
        address = gone.address();
    }
    settings.address = address;
    settings.max_retries = 2;
    VaultBackend b(settings);
    const auto msg =
        error_message_of(ErrorCode::unavailable, [&] { b.read("app/db", std::nullopt); });
    EXPECT_NE(msg.find(address), std::string::npos) << msg;
    error_message_of(ErrorCode::unavailable, [&] {
        b.write("app/db", {{"p", "v"}}, std::nullopt);
    });
    error_message_of(ErrorCode::unavailable, [&] { b.status(); });
}

// A server slower than the timeout: unavailable, not a hang.
TEST_F(VaultBackendTest, SlowServerTimesOut) {
    server->delay_ms = 2500;
    settings.timeout_ms = 800;
    VaultBackend b(settings);
    error_message_of(ErrorCode::unavailable, [&] { b.read("app/db", std::nullopt); });
    server->delay_ms = 0;
    b.write("app/db", {{"p", "v"}}, std::nullopt);  // the backend recovers
    EXPECT_EQ(b.read("app/db", std::nullopt).data.at("p"), "v");
}

// An answer that is not JSON (a proxy's error page) is unavailable, for reads and writes.
TEST_F(VaultBackendTest, GarbageIsUnavailable) {
    VaultBackend b(settings);
    server->garbage = true;
    error_message_of(ErrorCode::unavailable, [&] { b.read("app/db", std::nullopt); });
    error_message_of(ErrorCode::unavailable, [&] {
        b.write("app/db", {{"p", "v"}}, std::nullopt);
    });
    error_message_of(ErrorCode::unavailable, [&] { b.list(""); });
    error_message_of(ErrorCode::unavailable, [&] { b.status(); });
}

// A sealed Vault: operations are unavailable and say so; status reports it.
TEST_F(VaultBackendTest, SealedIsUnavailable) {
    VaultBackend b(settings);
    server->sealed = true;
    const auto msg =
        error_message_of(ErrorCode::unavailable, [&] { b.read("app/db", std::nullopt); });
    EXPECT_NE(msg.find("sealed"), std::string::npos) << msg;
    EXPECT_EQ(b.status().at("sealed"), true);
}

// Reads are retried through 5xx answers; writes are not (they may have happened).
TEST_F(VaultBackendTest, RetriesReadsOnly) {
    settings.max_retries = 2;
    VaultBackend b(settings);
    b.write("app/db", {{"p", "v"}}, std::nullopt);
    server->fail_next = 2;
    EXPECT_EQ(b.read("app/db", std::nullopt).data.at("p"), "v");
    server->fail_next = 1;
    error_message_of(ErrorCode::unavailable, [&] {
        b.write("app/db", {{"p", "w"}}, std::nullopt);
    });
    EXPECT_EQ(server->fail_next.load(), 0);
    EXPECT_EQ(b.read("app/db", std::nullopt).version, 1);
}

// A token Vault refuses is permission_denied.
TEST_F(VaultBackendTest, BadTokenIsPermissionDenied) {
    settings.token = "not-a-token";
    VaultBackend b(settings);
    error_message_of(ErrorCode::permission_denied, [&] { b.read("app/db", std::nullopt); });
}

// The token may come from a file (a Vault Agent sink).
TEST_F(VaultBackendTest, TokenFile) {
    const auto file = dir.file("token");
    std::ofstream(file) << pb::test::Kv2Server::k_root_token << "\n";
    settings.token.clear();
    settings.token_file = file;
    VaultBackend b(settings);
    b.write("app/db", {{"p", "v"}}, std::nullopt);
    EXPECT_EQ(b.status().at("auth"), "token file");
}

// AppRole: pb logs in with role_id and secret_id and renews its token before the lease ends.
TEST_F(VaultBackendTest, AppRoleLogsInAndRenews) {
    server->add_approle("role-1", "secret-1", 1);
    settings.token.clear();
    settings.role_id = "role-1";
    settings.secret_id = "secret-1";
    VaultBackend b(settings);
    b.write("app/db", {{"p", "v"}}, std::nullopt);
    EXPECT_EQ(server->logins(), 1);
    // Past two thirds of the 1 s lease: the next call renews (or, if the machine
    // was slow enough for the token to expire, logs in again) and still works.
    std::this_thread::sleep_for(std::chrono::milliseconds(750));
    EXPECT_EQ(b.read("app/db", std::nullopt).data.at("p"), "v");
    EXPECT_GE(server->renewals() + server->logins(), 2);
    EXPECT_EQ(b.status().at("auth"), "approle");
}

// Wrong AppRole credentials: unauthenticated, and the secret_id is not in the message.
TEST_F(VaultBackendTest, AppRoleWrongSecretIsUnauthenticated) {
    server->add_approle("role-1", "secret-1", 60);
    settings.token.clear();
    settings.role_id = "role-1";
    settings.secret_id = "wrong-secret-id";
    VaultBackend b(settings);
    const auto msg =
        error_message_of(ErrorCode::unauthenticated, [&] { b.read("app/db", std::nullopt); });
    EXPECT_EQ(msg.find("wrong-secret-id"), std::string::npos) << msg;
}

// VAULT_NAMESPACE is sent as X-Vault-Namespace.
TEST_F(VaultBackendTest, SendsTheNamespace) {
    server->require_namespace("team-a");
    error_message_of(ErrorCode::permission_denied, [&] {
        VaultBackend(settings).write("app/db", {{"p", "v"}}, std::nullopt);
    });
    settings.name_space = "team-a";
    VaultBackend b(settings);
    b.write("app/db", {{"p", "v"}}, std::nullopt);
    EXPECT_EQ(b.read("app/db", std::nullopt).data.at("p"), "v");
}

// Another mount: paths go under it, and the default mount is not touched.
TEST_F(VaultBackendTest, UsesTheMount) {
    settings.mount = "kv";
    error_message_of(ErrorCode::not_found, [&] { VaultBackend(settings).metadata("app/db"); });
    // The test server only serves "secret": a write under "kv" is Vault's 404, not a success.
    error_message_of(ErrorCode::not_found, [&] {
        VaultBackend(settings).write("app/db", {{"p", "v"}}, std::nullopt);
    });
}

// Requests reuse one keep-alive connection.
TEST_F(VaultBackendTest, ReusesTheConnection) {
    VaultBackend b(settings);
    b.write("app/db", {{"p", "v"}}, std::nullopt);
    for (int i = 0; i < 50; ++i) {
        b.read("app/db", std::nullopt);
    }
    EXPECT_EQ(server->connections(), 1U);
}

// TLS: a certificate no trusted CA signed is refused by default; VAULT_CACERT
// makes it trusted; skip_verify turns the check off.
TEST_F(VaultBackendTest, VerifiesTlsByDefault) {
    const auto cert = dir.file("vault.crt");
    const auto key = dir.file("vault.key");
    const auto gen = pb::test::run({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048",
                                    "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj",
                                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"},
                                   {});
    ASSERT_EQ(gen.exit_code, 0) << gen.err;
    pb::test::Kv2Server tls(cert, key);
    settings.address = tls.address();
    ASSERT_TRUE(settings.address.starts_with("https://"));
    error_message_of(ErrorCode::unavailable, [&] {
        VaultBackend(settings).write("app/db", {{"p", "v"}}, std::nullopt);
    });
    auto trusted = settings;
    trusted.cacert = cert;
    VaultBackend b(trusted);
    b.write("app/db", {{"p", "v"}}, std::nullopt);
    EXPECT_EQ(b.read("app/db", std::nullopt).data.at("p"), "v");
    EXPECT_EQ(b.status().at("tls_verify"), true);
    auto unchecked = settings;
    unchecked.skip_verify = true;
    EXPECT_EQ(VaultBackend(unchecked).read("app/db", std::nullopt).data.at("p"), "v");
}

// Settings: an address and a way to authenticate are required; TLS is verified by default.
TEST(VaultSettingsTest, FromConfig) {
    ConfigInputs in;
    in.file = "/dev/null";
    in.env = {{"VAULT_ADDR", "https://vault.example:8200/"},
              {"VAULT_TOKEN", "t"},
              {"VAULT_NAMESPACE", "ns1"}};
    const auto s = vault_settings_from_config(Config::load(in));
    EXPECT_EQ(s.address, "https://vault.example:8200");
    EXPECT_EQ(s.name_space, "ns1");
    EXPECT_EQ(s.mount, "secret");
    EXPECT_FALSE(s.skip_verify);
    in.env = {{"VAULT_ADDR", "https://vault.example:8200"}};
    EXPECT_EQ(error_code_of([&] { vault_settings_from_config(Config::load(in)); }),
              ErrorCode::invalid_argument);
    in.env = {{"VAULT_TOKEN", "t"}};
    EXPECT_EQ(error_code_of([&] { vault_settings_from_config(Config::load(in)); }),
              ErrorCode::invalid_argument);
}

}  // namespace
}  // namespace pb::secrets::test
