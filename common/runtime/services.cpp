#include "common/runtime/services.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "common/actions/catalog.hpp"
#include "common/admission/pipeline.hpp"
#include "common/core/error.hpp"
#include "common/core/log.hpp"
#include "common/keys/redis_cache.hpp"
#include "common/limits/ban_service.hpp"
#include "common/limits/service.hpp"
#include "common/redis/client.hpp"
#include "common/redis/event_bus.hpp"
#include "common/runtime/op_table.hpp"
#include "common/runtime/reloadable.hpp"
#include "common/secrets/service.hpp"
#include "common/secrets/vault_backend.hpp"
#include "common/store/migrations.hpp"

namespace pb {

FileModeCheck file_mode_check(const Config& config) {
    return config.get_bool("security.allow_insecure_permissions") ? FileModeCheck::allow_insecure
                                                                  : FileModeCheck::strict;
}

Services::Services(Config opened, const Clock& clock, std::unique_ptr<store::Store> store,
                   Counters counters)
    : m_config(std::move(opened)), m_clock(clock), m_counters(counters), m_store(std::move(store)) {
    // Secret references and sensitive settings first: everything below reads config.
    {
        Config resolved = config();
        resolved.resolve_secrets(
            secrets::config_lookup([this]() -> secrets::Backend& { return secrets(); }));
        m_config.swap(std::move(resolved));
    }
    const auto& cfg = config();  // the resolved one, for everything below
    m_follower = std::make_unique<events::Follower>(*m_store);
    if (!cfg.get("redis.url").empty()) {
        m_redis = std::make_unique<redis::Client>(redis::client_options_from_config(cfg));
        m_event_bus = std::make_unique<redis::EventBus>(*m_redis);
        m_store->set_publisher(m_event_bus.get());
        m_event_bus->on_event([this](const events::Event& e) { m_follower->offer(e); });
        m_event_bus->on_resync([this] { m_follower->resync(); });
    }
    m_keys = std::make_unique<keys::KeyService>(
        *m_store, m_clock, *m_follower,
        keys::make_redis_key_cache(m_redis.get(), m_store->dialect(), cfg, m_clock,
                                   [this]() -> const SecretBox& { return secret_box(); }));
    m_states = std::make_unique<states::StateService>(*m_store, m_clock);
    m_audit = std::make_unique<events::AuditLog>(
        *m_store, m_clock, [this]() -> const SecretBox& { return secret_box(); },
        events::AuditOptions{.fail_closed = cfg.get_bool("audit.fail_closed"),
                             .file = cfg.get("audit.file")});

    std::optional<tokens::JoseKey> config_hmac;
    if (const auto& secret = cfg.get("tokens.hmac_secret"); !secret.empty()) {
        const auto alg = tokens::alg_from_string(cfg.get("tokens.hmac_alg"));
        if (!alg || !tokens::is_hmac(*alg)) {
            throw Error(ErrorCode::invalid_argument,
                        "tokens.hmac_alg: expected HS256, HS384 or HS512");
        }
        config_hmac = tokens::JoseKey::from_secret(*alg, secret);
    }
    m_key_ring = std::make_unique<tokens::KeyRing>(
        *m_store, m_clock, *m_follower, [this]() -> const SecretBox& { return secret_box(); },
        std::move(config_hmac));
    auto ts = runtime::token_settings_from_config(cfg);
    m_tokens =
        std::make_unique<tokens::TokenService>(*m_store, m_clock, *m_follower, *m_key_ring, ts);
}

const SecretBox& Services::secret_box() {
    std::lock_guard lock(m_box_mutex);
    if (!m_box) {
        std::string path = config().get("security.master_key_file");
        if (path.empty()) {
            if (m_store->backend() != "sqlite") {
                throw Error(ErrorCode::invalid_argument,
                            "security.master_key_file must be set when the database is not SQLite");
            }
            path =
                (std::filesystem::path(m_store->location()).parent_path() / "master.key").string();
        }
        m_box = SecretBox::open(path, file_mode_check(config()));
    }
    return *m_box;
}

limits::BanService& Services::bans() {
    limits();
    return *m_bans;
}

limits::LimitService& Services::limits() {
    std::call_once(m_limits_once, [this] {
        auto ban_settings = limits::ban_settings_from_config(config());
        auto limit_settings = limits::limit_settings_from_config(config());
        m_bans = std::make_unique<limits::BanService>(*m_store, m_clock, *m_follower,
                                                      std::move(ban_settings));
        m_limits = std::make_unique<limits::LimitService>(
            m_clock, *m_bans, std::move(limit_settings),
            limits::LimitSources{.redis = m_redis.get(),
                                 .store = m_store.get(),
                                 .follower = m_follower.get(),
                                 .count_in_store = m_counters == Counters::database});
    });
    return *m_limits;
}

admission::Pipeline& Services::admission() {
    std::call_once(m_admission_once, [this] {
        m_admission = std::make_unique<admission::Pipeline>(
            admission::Parts{*m_keys, *m_tokens, bans(), limits(), m_clock},
            config().get("server.trusted_proxies"));
    });
    return *m_admission;
}

keys::Verifier& Services::key_verifier() {
    return admission();
}

actions::Catalog& Services::actions() {
    std::call_once(m_actions_once, [this] {
        m_actions = std::make_unique<actions::Catalog>(
            actions::catalog_settings_from_config(config()), runtime::actions_host());
    });
    return *m_actions;
}

secrets::Backend& Services::secrets() {
    std::call_once(m_secrets_once, [this] {
        m_secrets = secrets::make_backend(config(), *m_store, m_clock,
                                          [this]() -> const SecretBox& { return secret_box(); });
    });
    return *m_secrets;
}

runtime::ReloadReport Services::apply(Config next) {
    std::lock_guard lock(m_reload_mutex);
    next.resolve_secrets(
        secrets::config_lookup([this]() -> secrets::Backend& { return secrets(); }));
    auto settings = runtime::read_reloadable(next);
    auto report = runtime::compare(config(), next);
    if (report.changed.empty() && report.restart_required.empty()) {
        // The same settings: nothing is published (a Swappable keeps every
        // value it was given, so a SIGHUP every minute must not add one),
        // but the action files are read again, as SIGHUP always did.
        actions().reload();
        return report;
    }
    // Nothing below throws on settings read_reloadable() accepted (the
    // catalog logs files with problems and skips them).
    limits().reload(std::move(settings.limits));
    bans().reload(std::move(settings.bans));
    admission().reload(std::move(*settings.proxies));
    m_tokens->reload(std::move(settings.tokens));
    actions().reload(std::move(settings.actions));
    log::init(next.get("log.level"), next.get("log.format"));
    m_config.swap(std::move(next));
    return report;
}

void Services::set_reloader(std::function<nlohmann::json()> reloader) {
    m_reloader = std::move(reloader);
}

nlohmann::json Services::reload() {
    if (!m_reloader) {
        throw Error(ErrorCode::invalid_argument,
                    "reload: there is no daemon here to reload (pbctl on the database reads "
                    "its configuration at every command); reload a pbd with pbctl --server URL "
                    "reload, or send it SIGHUP");
    }
    return m_reloader();
}

void* Services::find(std::type_index type) {
    // Lazily built services are built here, on a handler's first request.
    if (type == typeid(store::Store)) {
        return &store();
    }
    if (type == typeid(keys::KeyService)) {
        return &keys();
    }
    if (type == typeid(tokens::TokenService)) {
        return &tokens();
    }
    if (type == typeid(limits::BanService)) {
        return &bans();
    }
    if (type == typeid(limits::LimitService)) {
        return &limits();
    }
    if (type == typeid(states::StateService)) {
        return &states();
    }
    if (type == typeid(actions::Catalog)) {
        return &actions();
    }
    if (type == typeid(secrets::Backend)) {
        return &secrets();
    }
    if (type == typeid(keys::Verifier)) {
        return &key_verifier();
    }
    if (type == typeid(events::AuditLog)) {
        return m_audit.get();
    }
    if (type == typeid(Services)) {
        return this;
    }
    return nullptr;
}

std::unique_ptr<Services> Services::open(Config config, const Clock& clock, Options options) {
    store::StoreOptions so;
    so.busy_timeout_ms = config.get_duration_ms("db.busy_timeout");
    so.pool_size = config.get_int("db.pool_size") > 0
                       ? static_cast<int>(config.get_int("db.pool_size"))
                       : options.pool_size;
    so.connect_timeout_s = static_cast<int>(
        std::max<std::int64_t>(1, config.get_duration_ms("db.connect_timeout") / 1000));
    // The password is needed before the store opens, so it may come from the
    // secrets service only when that is Vault; the files dir and the
    // environment serve as for any sensitive setting.
    const bool vault = config.get("secrets.backend") == "vault";
    if (!vault && config.get("db.password").starts_with("secret:")) {
        throw Error(ErrorCode::invalid_argument,
                    "db.password: a secret: reference needs secrets.backend vault (the local "
                    "backend lives in the database this password opens)",
                    {{"key", "db.password"}});
    }
    std::unique_ptr<secrets::Backend> vault_backend;
    const SecretLookup no_store_yet = [](std::string_view, std::string_view) {
        return std::optional<std::string>();
    };
    config.resolve_secrets(vault ? secrets::config_lookup([&]() -> secrets::Backend& {
                               if (!vault_backend) {
                                   vault_backend = std::make_unique<secrets::VaultBackend>(
                                       secrets::vault_settings_from_config(config));
                               }
                               return *vault_backend;
                           })
                                 : no_store_yet,
                           "db.password");
    // Only the default location's folders are made: a mistyped --db is an error,
    // not a new empty database.
    so.folders = config.explain("db.url")["source"] == "default" ? store::Folders::create
                                                                 : store::Folders::must_exist;
    so.mode_check = file_mode_check(config);
    so.password = config.get("db.password");
    if (const auto file = config.get("db.password_file"); !file.empty()) {
        std::ifstream in(file);
        if (!in || !std::getline(in, so.password) || so.password.empty()) {
            throw Error(ErrorCode::unavailable,
                        "db.password_file: cannot read a password from " + file);
        }
        if (so.password.back() == '\r') {
            so.password.pop_back();
        }
    }
    auto st = store::open_store(config.get("db.url"), so);
    if (options.migrate == Migrate::yes) {
        store::migrate(*st, clock);
    }
    return std::unique_ptr<Services>(
        new Services(std::move(config), clock, std::move(st), options.counters));
}

Services::~Services() {
    try {
        m_keys->flush_usage();
    } catch (const std::exception& e) {
        log::get("store")->warn("could not record key usage on shutdown: {}", e.what());
    }
    if (m_event_bus) {
        m_event_bus.reset();  // sends what is queued, while everything else still stands
        m_store->set_publisher(nullptr);
    }
}

}  // namespace pb
