#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/actions/catalog.hpp"
#include "common/admission/client_address.hpp"
#include "common/core/config.hpp"
#include "common/limits/service.hpp"
#include "common/tokens/service.hpp"

namespace pb::runtime {

// Every setting a running pbd applies on reload (SIGHUP, `pbctl reload`),
// read from one configuration. The one reader of these settings: start-up,
// `pbd --check-config` and a reload all go through it, so they cannot
// disagree on what is valid.
struct ReloadableSettings {
    limits::LimitSettings limits;  // limits.*, bans.auto.threshold/window, redis.on_failure*
    limits::BanSettings bans;      // bans.allow, bans.auto.*, bans.retention
    std::optional<admission::TrustedProxies> proxies;  // server.trusted_proxies (always set)
    tokens::TokenSettings tokens;                      // tokens.* but the secrets and issuer
    actions::CatalogSettings actions;                  // actions.*
};

// Reads them. Error(invalid_argument) naming the setting ({"key": …}) for the
// first bad value; log.level and log.format are checked too.
ReloadableSettings read_reloadable(const Config& config);

// tokens.* as TokenService takes them. Error(invalid_argument) naming the key.
tokens::TokenSettings token_settings_from_config(const Config& config);

// Whether a changed `key` takes effect on reload (else: a restart). Keys of
// pbctl alone (cli.*) are neither: pbd does not read them.
enum class OnChange { reload, restart, ignored };
OnChange on_change(std::string_view key);

// What a reload changed: the keys applied, and those that changed but take
// effect only at the next start, in the key table's order. Names, never values.
struct ReloadReport {
    std::vector<std::string> changed;
    std::vector<std::string> restart_required;
    std::optional<std::string> file;  // the config file read

    nlohmann::json to_json() const;
    // The JSON Schema of to_json() ("ReloadReport").
    static nlohmann::json schema();
};

// The keys whose values differ between `before` and `after`, sorted into a report.
ReloadReport compare(const Config& before, const Config& after);

}  // namespace pb::runtime
