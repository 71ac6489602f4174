#pragma once

#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace pb {

enum class ConfigType { string, integer, boolean, duration };
enum class ConfigScope { both, cli, daemon };
enum class Sensitivity { plain, secret };

// One setting of pb: the config key table is the only list of settings; the
// file loader, the environment, `pbctl config show|explain`, pbd --help and the
// docs all read it.
struct ConfigKey {
    std::string_view key;  // dotted name in pb.yaml, e.g. "server.listen"
    ConfigType type;
    std::string_view fallback;  // built-in default, as text
    std::string_view env;       // environment variable, e.g. "PB_LISTEN"
    ConfigScope scope;
    Sensitivity sensitivity;
    std::string_view help;
};

// Every setting, in display order.
std::span<const ConfigKey> config_keys();
// The entry for `key`, or nullptr.
const ConfigKey* find_config_key(std::string_view key);

// Where a value came from. Plain settings: flag > env > file > default.
// Sensitive ones: flag > secret (the secret store) > secret_file > env > file >
// default. `secret` is also the source of a resolved "secret:path#field" value.
enum class ConfigSource { flag, env, file, fallback, secret, secret_file };
std::string_view to_string(ConfigSource source);

// What to layer. Flags are keyed by config key.
struct ConfigInputs {
    std::map<std::string, std::string> flags;
    std::map<std::string, std::string> env;  // typically read_environment()
    std::optional<std::string> file;         // explicit --config / PB_CONFIG
};

// Reads field `field` of secret `path` for Config::resolve_secrets(): the value,
// or nullopt when there is no such secret or field; throws pb::Error otherwise.
// Installed by the runtime, so core config does not depend on the secrets module.
using SecretLookup =
    std::function<std::optional<std::string>(std::string_view path, std::string_view field)>;

// The process environment's PB_* and VAULT_* variables.
std::map<std::string, std::string> read_environment();

// Merged configuration: flag > env > file > default, with each value's origin
// kept. Values are validated against their type on load (Error invalid_argument,
// naming the key and the source, never echoing a secret value).
class Config {
  public:
    static Config load(const ConfigInputs& inputs);

    // Resolves secrets, once, after load(): every "secret:PATH#FIELD" value is
    // replaced by that field (Error(invalid_argument) naming the key when it does
    // not exist); then each sensitive setting not given as a flag takes, in
    // order, field KEY of the secret secrets.config_path, the file KEY in
    // secrets.files_dir, or keeps its env/file/default value (the original
    // framework's vault > files > env > default). A secret store that cannot
    // be reached (warning) or denies the read is skipped for that implicit
    // step; for an explicit reference it is an Error. secrets.* settings are never looked up (the
    // store needs them to open).
    // `only`: resolve just this key (settings needed before the store opens).
    void resolve_secrets(const SecretLookup& lookup, std::string_view only = {});

    // Typed accessors; the key must be in the table (programmer error otherwise).
    const std::string& get(std::string_view key) const;
    std::int64_t get_int(std::string_view key) const;
    bool get_bool(std::string_view key) const;
    std::int64_t get_duration_ms(std::string_view key) const;

    // {"key","value","source","origin","env","default","help"}; secret values redacted.
    nlohmann::json explain(std::string_view key) const;
    // Every key as explain() shows it.
    nlohmann::json show() const;
    // Keys in the file that pb does not know (each also logged as a warning).
    const std::vector<std::string>& warnings() const { return m_warnings; }
    // The file that was read, if any.
    const std::optional<std::string>& file() const { return m_file; }

  private:
    struct Entry {
        std::string value;
        ConfigSource source = ConfigSource::fallback;
        std::string origin;  // env var name, file path or secret reference
        bool from_secret = false;
    };
    const Entry& entry(std::string_view key) const;

    std::map<std::string, Entry, std::less<>> m_values;
    std::vector<std::string> m_warnings;
    std::optional<std::string> m_file;
};

}  // namespace pb
