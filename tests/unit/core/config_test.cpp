#include "common/core/config.hpp"

#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "common/core/command_line_config.hpp"
#include "common/core/error.hpp"
#include "common/core/time_format.hpp"
#include "tests/support/errors.hpp"
#include "tests/support/temp_dir.hpp"

namespace pb {
namespace {

using test::TempDir;

class ConfigTest : public ::testing::Test {
  protected:
    // Writes a pb.yaml in the temp dir and returns its path.
    std::string write_file(const std::string& yaml) {
        const auto path = dir.file("pb.yaml");
        std::ofstream(path) << yaml;
        return path;
    }

    // Inputs that never read /etc/pb/pb.yaml or the process environment.
    ConfigInputs inputs(const std::string& yaml = "") {
        ConfigInputs in;
        in.file = write_file(yaml);
        return in;
    }

    // The message of the Error that loading `in` throws (fails the test if none).
    std::string load_error(const ConfigInputs& in, ErrorCode expected) {
        return pb::test::error_message_of(expected, [&] { Config::load(in); });
    }

    TempDir dir;
};

// With nothing set, every key has its built-in default and source "default".
TEST_F(ConfigTest, DefaultsWhenNothingIsSet) {
    const auto cfg = Config::load(inputs());
    EXPECT_EQ(cfg.get("server.listen"), "127.0.0.1:8700");
    EXPECT_EQ(cfg.get_int("server.max_body"), 1048576);
    EXPECT_TRUE(cfg.get_bool("server.bootstrap"));
    EXPECT_EQ(cfg.get_duration_ms("db.busy_timeout"), 5000);
    const auto e = cfg.explain("server.listen");
    EXPECT_EQ(e.at("source"), "default");
    EXPECT_EQ(e.at("env"), "PB_LISTEN");
    EXPECT_EQ(e.at("default"), "127.0.0.1:8700");
    EXPECT_FALSE(e.contains("origin"));
    EXPECT_TRUE(cfg.warnings().empty());
}

// pbctl's and pbd's command lines become inputs the same way: a flag given is
// a flag, an empty one (left off) is not, --config only when given, and the
// process's PB_* variables are the env layer.
TEST_F(ConfigTest, CommandLineInputsKeepOnlyTheFlagsGiven) {
    ::setenv("PB_CONFIG_TEST_MARK", "here", 1);
    const auto in = inputs_from_command_line(
        "", {{"db.url", "/tmp/x.db"}, {"redis.url", ""}, {"server.bootstrap", "false"}});
    ::unsetenv("PB_CONFIG_TEST_MARK");
    EXPECT_EQ(in.flags, (std::map<std::string, std::string>{{"db.url", "/tmp/x.db"},
                                                            {"server.bootstrap", "false"}}));
    EXPECT_FALSE(in.file.has_value());
    EXPECT_EQ(in.env.at("PB_CONFIG_TEST_MARK"), "here");
    const auto with_file = inputs_from_command_line(write_file("log:\n  level: debug\n"), {});
    ASSERT_TRUE(with_file.file.has_value());
    EXPECT_EQ(*with_file.file, dir.file("pb.yaml"));
    EXPECT_TRUE(with_file.flags.empty());
}

// flag > env > file > default, each value keeping the source that won.
TEST_F(ConfigTest, LayersFlagOverEnvOverFileOverDefault) {
    auto in = inputs(
        "server:\n  listen: 0.0.0.0:1\n  threads: 3\n  max_body: 10\nlog:\n  level: debug\n");
    in.env = {{"PB_LISTEN", "0.0.0.0:2"}, {"PB_THREADS", "4"}};
    in.flags = {{"server.listen", "0.0.0.0:3"}};
    const auto cfg = Config::load(in);

    EXPECT_EQ(cfg.get("server.listen"), "0.0.0.0:3");
    EXPECT_EQ(cfg.explain("server.listen").at("source"), "flag");

    EXPECT_EQ(cfg.get_int("server.threads"), 4);
    EXPECT_EQ(cfg.explain("server.threads").at("source"), "env");
    EXPECT_EQ(cfg.explain("server.threads").at("origin"), "PB_THREADS");

    EXPECT_EQ(cfg.get_int("server.max_body"), 10);
    EXPECT_EQ(cfg.explain("server.max_body").at("source"), "file");
    EXPECT_EQ(cfg.explain("server.max_body").at("origin"), *in.file);
    EXPECT_EQ(cfg.get("log.level"), "debug");

    EXPECT_EQ(cfg.get_int("server.max_header"), 16384);
    EXPECT_EQ(cfg.explain("server.max_header").at("source"), "default");
    EXPECT_EQ(cfg.file(), in.file);
}

// PB_CONFIG in the environment names the file when no explicit one is given.
TEST_F(ConfigTest, PbConfigNamesTheFile) {
    ConfigInputs in;
    in.env = {{"PB_CONFIG", write_file("server:\n  threads: 7\n")}};
    const auto cfg = Config::load(in);
    EXPECT_EQ(cfg.get_int("server.threads"), 7);
    EXPECT_EQ(cfg.explain("server.threads").at("source"), "file");
}

// Keys the table does not know become warnings naming the key (and not its value).
TEST_F(ConfigTest, UnknownFileKeysBecomeWarnings) {
    const auto cfg =
        Config::load(inputs("server:\n  listne: 1.2.3.4:5\n  threads: 2\ncli:\n  apikey: "
                            "hunter2-typo-secret\n"));
    ASSERT_EQ(cfg.warnings().size(), 2U);
    std::string all;
    for (const auto& w : cfg.warnings()) {
        all += w + "\n";
    }
    EXPECT_NE(all.find("server.listne"), std::string::npos) << all;
    EXPECT_NE(all.find("cli.apikey"), std::string::npos) << all;
    EXPECT_EQ(all.find("hunter2-typo-secret"), std::string::npos) << all;
    // The known key next to them still loads.
    EXPECT_EQ(cfg.get_int("server.threads"), 2);
}

// A badly typed value from any layer is invalid_argument naming the key.
TEST_F(ConfigTest, RejectsBadlyTypedValuesNamingTheKey) {
    {
        auto in = inputs();
        in.env = {{"PB_THREADS", "many"}};
        const auto msg = load_error(in, ErrorCode::invalid_argument);
        EXPECT_NE(msg.find("server.threads"), std::string::npos) << msg;
        EXPECT_NE(msg.find("PB_THREADS"), std::string::npos) << msg;
    }
    {
        const auto msg =
            load_error(inputs("server:\n  bootstrap: maybe\n"), ErrorCode::invalid_argument);
        EXPECT_NE(msg.find("server.bootstrap"), std::string::npos) << msg;
    }
    {
        auto in = inputs();
        in.flags = {{"cli.timeout", "10"}};
        const auto msg = load_error(in, ErrorCode::invalid_argument);
        EXPECT_NE(msg.find("cli.timeout"), std::string::npos) << msg;
    }
    {
        auto in = inputs();
        in.env = {{"PB_MAX_BODY", "12abc"}};
        const auto msg = load_error(in, ErrorCode::invalid_argument);
        EXPECT_NE(msg.find("server.max_body"), std::string::npos) << msg;
    }
}

// A list where a setting's value belongs is rejected, naming the key.
TEST_F(ConfigTest, RejectsAListWhereAValueBelongs) {
    const auto msg =
        load_error(inputs("server:\n  listen:\n    - a\n    - b\n"), ErrorCode::invalid_argument);
    EXPECT_NE(msg.find("server.listen"), std::string::npos) << msg;
}

// YAML that does not parse is invalid_argument naming the file.
TEST_F(ConfigTest, RejectsMalformedYaml) {
    const auto in = inputs("server: [unclosed\n");
    const auto msg = load_error(in, ErrorCode::invalid_argument);
    EXPECT_NE(msg.find(*in.file), std::string::npos) << msg;
}

// A config file that cannot be read is invalid_argument naming it.
TEST_F(ConfigTest, RejectsAMissingFile) {
    ConfigInputs in;
    in.file = dir.file("absent.yaml");
    const auto msg = load_error(in, ErrorCode::invalid_argument);
    EXPECT_NE(msg.find("absent.yaml"), std::string::npos) << msg;
}

// The secret cli.api_key is redacted in explain() and show(), whatever its source.
TEST_F(ConfigTest, RedactsTheApiKeyInExplainAndShow) {
    const std::string secret = "pb_topsecret_value_123";
    for (int layer = 0; layer < 3; ++layer) {
        SCOPED_TRACE(layer);
        auto in = inputs(layer == 0 ? "cli:\n  api_key: " + secret + "\n" : "");
        if (layer == 1) {
            in.env = {{"PB_API_KEY", secret}};
        }
        if (layer == 2) {
            in.flags = {{"cli.api_key", secret}};
        }
        const auto cfg = Config::load(in);
        EXPECT_EQ(cfg.get("cli.api_key"), secret);  // the program itself can use it
        EXPECT_EQ(cfg.explain("cli.api_key").at("value"), "<redacted>");
        const auto shown = cfg.show().dump();
        EXPECT_EQ(shown.find(secret), std::string::npos);
        EXPECT_EQ(cfg.explain("cli.api_key").dump().find(secret), std::string::npos);
    }
}

// An unset secret shows as empty, so "not set" is still visible.
TEST_F(ConfigTest, EmptySecretIsShownAsEmpty) {
    const auto cfg = Config::load(inputs());
    EXPECT_EQ(cfg.explain("cli.api_key").at("value"), "");
}

// A misplaced secret value never appears in the error it causes.
TEST_F(ConfigTest, SecretValuesNeverAppearInErrors) {
    const std::string secret = "s3cr3t-value-do-not-print";
    const auto msg =
        load_error(inputs("cli:\n  api_key:\n    - " + secret + "\n"), ErrorCode::invalid_argument);
    EXPECT_NE(msg.find("cli.api_key"), std::string::npos) << msg;
    EXPECT_EQ(msg.find(secret), std::string::npos) << msg;
}

// Plain values are echoed in type errors, so the operator sees what was wrong.
TEST_F(ConfigTest, PlainValuesAreEchoedInTypeErrors) {
    auto in = inputs();
    in.env = {{"PB_IDLE_TIMEOUT", "forever"}};
    const auto msg = load_error(in, ErrorCode::invalid_argument);
    EXPECT_NE(msg.find("\"forever\""), std::string::npos) << msg;
}

// show() lists every key of the table once, in table order.
TEST_F(ConfigTest, ShowListsEveryKey) {
    const auto shown = Config::load(inputs()).show();
    ASSERT_EQ(shown.size(), config_keys().size());
    for (std::size_t i = 0; i < shown.size(); ++i) {
        EXPECT_EQ(shown[i].at("key"), config_keys()[i].key);
    }
}

// Drift: every config key has a PB_ env name, help, a unique name and a default of its type.
TEST(ConfigKeyTable, EveryKeyIsComplete) {
    std::set<std::string_view> names, envs;
    for (const auto& k : config_keys()) {
        SCOPED_TRACE(std::string(k.key));
        // Vault's settings use Vault's own variable names.
        EXPECT_TRUE(k.env.starts_with("PB_") ||
                    (k.key.starts_with("secrets.vault.") && k.env.starts_with("VAULT_")))
            << k.env;
        EXPECT_FALSE(k.help.empty());
        EXPECT_NE(k.key.find('.'), std::string_view::npos);
        EXPECT_TRUE(names.insert(k.key).second) << "duplicate key";
        EXPECT_TRUE(envs.insert(k.env).second) << "duplicate env " << k.env;
        EXPECT_EQ(find_config_key(k.key), &k);
        if (k.type == ConfigType::duration) {
            EXPECT_TRUE(parse_duration(k.fallback).has_value()) << k.fallback;
        }
    }
    EXPECT_EQ(find_config_key("no.such.key"), nullptr);
}

// The api key is the secret; ordinary settings are not.
TEST(ConfigKeyTable, ApiKeyIsMarkedSecret) {
    ASSERT_NE(find_config_key("cli.api_key"), nullptr);
    EXPECT_EQ(find_config_key("cli.api_key")->sensitivity, Sensitivity::secret);
    EXPECT_EQ(find_config_key("db.url")->sensitivity, Sensitivity::plain);
}

}  // namespace
}  // namespace pb
