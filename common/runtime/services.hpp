#pragma once

#include <functional>
#include <memory>
#include <mutex>

#include "common/core/clock.hpp"
#include "common/core/config.hpp"
#include "common/core/private_file.hpp"
#include "common/core/secret_box.hpp"
#include "common/core/swappable.hpp"
#include "common/events/audit_log.hpp"
#include "common/events/follower.hpp"
#include "common/keys/service.hpp"
#include "common/ops/service_registry.hpp"
#include "common/states/service.hpp"
#include "common/store/store.hpp"
#include "common/tokens/service.hpp"

namespace pb::actions {
class Catalog;
}
namespace pb::secrets {
class Backend;
}  // namespace pb::secrets

namespace pb::redis {
class Client;
class EventBus;
}  // namespace pb::redis

namespace pb::limits {
class BanService;
class LimitService;
}  // namespace pb::limits

namespace pb::keys {
class Verifier;
}  // namespace pb::keys

namespace pb::admission {
class Pipeline;
}  // namespace pb::admission

namespace pb::runtime {
struct ReloadReport;
}  // namespace pb::runtime

namespace pb {

// FileModeCheck::allow_insecure when security.allow_insecure_permissions is set.
FileModeCheck file_mode_check(const Config& config);

// Everything an op handler may use, opened from the configuration: the store
// (migrated), the clock and the domain services. Owned by pbctl's main or pbd's
// lifecycle; thread-safe. A handler asks it for one service by type
// (ops::ServiceRegistry): store::Store, keys::KeyService, tokens::TokenService,
// limits::BanService, limits::LimitService, states::StateService,
// actions::Catalog, secrets::Backend, events::AuditLog, and (runtime's own
// ops) Services.
class Services final : public ops::ServiceRegistry {
  public:
    // Migrate::no for a look that must change nothing (pbd --check-config).
    enum class Migrate { yes, no };
    // Where rate-limit counters live without Redis: this process's memory
    // (pbd) or the database (pbctl on the database: its runs share them).
    // With redis.url set, they are in Redis either way.
    enum class Counters { memory, database };
    struct Options {
        int pool_size = 2;
        Migrate migrate = Migrate::yes;
        Counters counters = Counters::memory;
    };

    // Opens the database named by db.url and brings its schema up to date.
    // Throws Error(unavailable) when the database cannot be opened.
    static std::unique_ptr<Services> open(Config config, const Clock& clock, Options options);

    ~Services() override;
    Services(const Services&) = delete;
    Services& operator=(const Services&) = delete;

    // The configuration in force: the one opened, or the last reload's (a
    // reference that stays valid after a reload).
    const Config& config() const { return m_config.get(); }

    // A reload: resolves `next`'s secret references, reads its reloadable
    // settings (runtime::read_reloadable, as start-up and --check-config do),
    // then applies them all (limits and bans policies, the allow-list, trusted
    // proxies, token and JWKS settings, actions, the log level and format) and
    // makes `next` the configuration in force. A bad setting throws
    // Error(invalid_argument) naming it, and nothing changes. Settings that
    // need a restart are named in the report, not applied. Reloads are
    // serialised; requests under way finish with the settings they started with.
    runtime::ReloadReport apply(Config next);
    // The process's own reload (pbd installs it: it re-reads its flags and
    // file, calls apply() and applies its own settings); the system.reload
    // op calls reload(). Without one (pbctl on the database) reload() throws
    // Error(invalid_argument): there is no daemon to reload.
    void set_reloader(std::function<nlohmann::json()> reloader);
    nlohmann::json reload();
    const Clock& clock() const override { return m_clock; }
    store::Store& store() { return *m_store; }
    // Delivers changes committed anywhere to the in-memory caches.
    events::Follower& follower() { return *m_follower; }
    keys::KeyService& keys() { return *m_keys; }
    tokens::TokenService& tokens() { return *m_tokens; }
    // The master key, opened (and created) on first use. Error(unavailable).
    const SecretBox& secret_box();
    // Bans and rate limits, built from bans.* and limits.* on first use (so
    // pbctl commands that need neither pay nothing). Error(invalid_argument)
    // for a bad setting: pbd should call limits() at start to fail early.
    limits::BanService& bans();
    limits::LimitService& limits();
    // The admission pipeline (client address, bans, limits, credential,
    // permission), built on first use from the services above and
    // server.trusted_proxies. Error(invalid_argument) for a bad setting.
    admission::Pipeline& admission();
    // keys.verify's judge: the pipeline at its verify door.
    keys::Verifier& key_verifier();
    // The audit chain (events/audit_log.hpp); its key opens with the master key on first use.
    events::AuditLog& audit() { return *m_audit; }
    // Named states (cheap to build: no cache, no follower).
    states::StateService& states() { return *m_states; }
    // The actions of actions.paths, loaded on first use (files with problems
    // are logged and skipped). Error(invalid_argument) for a bad actions.* setting.
    actions::Catalog& actions();
    // The secrets backend secrets.backend names, built on first use.
    // Error(invalid_argument) for a bad secrets.* setting.
    secrets::Backend& secrets();
    // Redis when redis.url is set, else nullptr: the shared client, and the
    // bus that publishes every event this process commits (pbd also listens
    // on it: see EventBus::listen).
    redis::Client* redis() { return m_redis.get(); }
    redis::EventBus* event_bus() { return m_event_bus.get(); }

  private:
    void* find(std::type_index type) override;

    Services(Config config, const Clock& clock, std::unique_ptr<store::Store> store,
             Counters counters);

    Swappable<Config> m_config;
    const Clock& m_clock;
    Counters m_counters;
    std::mutex m_reload_mutex;  // one reload at a time
    std::function<nlohmann::json()> m_reloader;
    std::unique_ptr<store::Store> m_store;
    std::unique_ptr<redis::Client> m_redis;
    std::unique_ptr<events::Follower> m_follower;
    // Declared after the follower and the store: its threads stop first.
    std::unique_ptr<redis::EventBus> m_event_bus;
    std::unique_ptr<keys::KeyService> m_keys;
    std::mutex m_box_mutex;
    std::unique_ptr<SecretBox> m_box;
    std::unique_ptr<tokens::KeyRing> m_key_ring;
    std::unique_ptr<tokens::TokenService> m_tokens;
    std::once_flag m_limits_once;
    std::unique_ptr<limits::BanService> m_bans;
    std::unique_ptr<limits::LimitService> m_limits;
    std::once_flag m_admission_once;
    std::unique_ptr<admission::Pipeline> m_admission;
    std::unique_ptr<states::StateService> m_states;
    std::unique_ptr<events::AuditLog> m_audit;
    std::once_flag m_actions_once;
    std::unique_ptr<actions::Catalog> m_actions;
    std::once_flag m_secrets_once;
    std::unique_ptr<secrets::Backend> m_secrets;
};

}  // namespace pb
