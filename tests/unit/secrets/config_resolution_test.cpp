// Config values that come from secrets: "secret:path#field" references and the
// original framework's order for sensitive settings (vault > files > env > default).

#include <fstream>

#include "common/secrets/service.hpp"
#include "tests/unit/secrets/backend_fixture.hpp"

namespace pb::secrets::test {
namespace {

constexpr const char* k_jwt = "0123456789abcdef0123456789abcdef-from-store";

class ConfigResolutionTest : public SecretsEnv, public ::testing::Test {
  protected:
    ConfigResolutionTest() : backend(local_backend()) {}

    ConfigInputs inputs(const std::string& yaml) {
        const auto path = dir.file("pb.yaml");
        std::ofstream(path) << yaml;
        ConfigInputs in;
        in.file = path;
        return in;
    }

    Config resolved(const ConfigInputs& in) {
        auto cfg = Config::load(in);
        cfg.resolve_secrets(config_lookup([this]() -> Backend& { return *backend; }));
        return cfg;
    }

    std::unique_ptr<LocalBackend> backend;
};

// A reference anywhere is replaced by the field; explain names it and hides the value.
TEST_F(ConfigResolutionTest, ResolvesReferences) {
    backend->write("app/jwt", {{"key", k_jwt}}, std::nullopt);
    backend->write("app/net", {{"listen", "127.0.0.1:9999"}}, std::nullopt);
    const auto cfg = resolved(inputs(
        "tokens:\n  hmac_secret: secret:app/jwt#key\nserver:\n  listen: secret:app/net#listen\n"));
    EXPECT_EQ(cfg.get("tokens.hmac_secret"), k_jwt);
    EXPECT_EQ(cfg.get("server.listen"), "127.0.0.1:9999");
    const auto e = cfg.explain("tokens.hmac_secret");
    EXPECT_EQ(e.at("source"), "secret");
    EXPECT_EQ(e.at("origin"), "secret:app/jwt#key");
    EXPECT_EQ(e.at("value"), "<redacted>");
    EXPECT_EQ(e.dump().find(k_jwt), std::string::npos);
    // A plain setting read from a secret is redacted too.
    EXPECT_EQ(cfg.explain("server.listen").at("value"), "<redacted>");
}

// A reference to nothing, or a malformed one, is an error naming the key.
TEST_F(ConfigResolutionTest, MissingReferenceIsAnError) {
    backend->write("app/jwt", {{"key", k_jwt}}, std::nullopt);
    for (const char* yaml :
         {"tokens:\n  hmac_secret: secret:app/none#key\n",
          "tokens:\n  hmac_secret: secret:app/jwt#other\n",
          "tokens:\n  hmac_secret: secret:app/jwt\n", "tokens:\n  hmac_secret: secret:#key\n"}) {
        try {
            resolved(inputs(yaml));
            ADD_FAILURE() << "no error for " << yaml;
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::invalid_argument) << yaml;
            EXPECT_NE(std::string(e.what()).find("tokens.hmac_secret"), std::string::npos);
        }
    }
}

// Sensitive settings: secret store > secret file > env > file > default; a flag beats all.
TEST_F(ConfigResolutionTest, SensitiveOrder) {
    const auto files = dir.file("secrets");
    std::filesystem::create_directory(files);
    auto in = inputs("tokens:\n  hmac_secret: from-pb-yaml-0123456789abcdef0123\n");
    in.env = {{"PB_SECRETS_DIR", files}};
    EXPECT_EQ(resolved(in).explain("tokens.hmac_secret").at("source"), "file");
    in.env["PB_JWT_SECRET"] = "from-env-0123456789abcdef0123456789";
    EXPECT_EQ(resolved(in).get("tokens.hmac_secret"), "from-env-0123456789abcdef0123456789");
    std::ofstream(files + "/tokens.hmac_secret") << "from-file-0123456789abcdef0123456789\n";
    auto cfg = resolved(in);
    EXPECT_EQ(cfg.get("tokens.hmac_secret"), "from-file-0123456789abcdef0123456789");
    EXPECT_EQ(cfg.explain("tokens.hmac_secret").at("source"), "secret_file");
    backend->write("pb/config", {{"tokens.hmac_secret", k_jwt}}, std::nullopt);
    cfg = resolved(in);
    EXPECT_EQ(cfg.get("tokens.hmac_secret"), k_jwt);
    EXPECT_EQ(cfg.explain("tokens.hmac_secret").at("origin"),
              "secret:pb/config#tokens.hmac_secret");
    in.flags["tokens.hmac_secret"] = "from-flag-0123456789abcdef0123456789";
    EXPECT_EQ(resolved(in).get("tokens.hmac_secret"), "from-flag-0123456789abcdef0123456789");
    // Plain settings are not looked up implicitly.
    backend->write("pb/config", {{"server.listen", "1.2.3.4:5"}}, std::nullopt);
    in.flags.clear();
    EXPECT_EQ(resolved(in).get("server.listen"), "127.0.0.1:8700");
}

// A secret store that cannot be reached is skipped for the implicit lookup
// (the env value stays), but an explicit reference fails.
TEST_F(ConfigResolutionTest, UnreachableStoreFallsBack) {
    auto in = inputs("");
    in.env = {{"PB_JWT_SECRET", "from-env-0123456789abcdef0123456789"}};
    auto cfg = Config::load(in);
    const SecretLookup down = [](std::string_view, std::string_view) -> std::optional<std::string> {
        throw Error(ErrorCode::unavailable, "cannot reach Vault");
    };
    cfg.resolve_secrets(down);
    EXPECT_EQ(cfg.get("tokens.hmac_secret"), "from-env-0123456789abcdef0123456789");
    auto explicit_ref = Config::load(inputs("tokens:\n  hmac_secret: secret:app/jwt#key\n"));
    EXPECT_EQ(error_code_of([&] { explicit_ref.resolve_secrets(down); }), ErrorCode::unavailable);
}

}  // namespace
}  // namespace pb::secrets::test
