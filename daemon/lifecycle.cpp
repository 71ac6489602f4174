#include "daemon/lifecycle.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include "common/actions/catalog.hpp"
#include "common/core/argv_scrub.hpp"
#include "common/core/build_info.hpp"
#include "common/core/clock.hpp"
#include "common/core/command_line_config.hpp"
#include "common/core/error.hpp"
#include "common/core/log.hpp"
#include "common/docs/man_page.hpp"
#include "common/limits/service.hpp"
#include "common/redis/client.hpp"
#include "common/redis/event_bus.hpp"
#include "common/runtime/op_table.hpp"
#include "common/runtime/reloadable.hpp"
#include "common/runtime/services.hpp"
#include "common/tokens/identity_token.hpp"
#include "daemon/bootstrap.hpp"
#include "daemon/http/router.hpp"
#include "daemon/http/server.hpp"
#include "daemon/metrics/limit_metrics.hpp"
#include "daemon/metrics/metrics.hpp"
#include "daemon/metrics/outcome_metrics.hpp"
#include "daemon/metrics/process_metrics.hpp"
#include "daemon/metrics/redis_metrics.hpp"
#include "daemon/metrics/store_metrics.hpp"
#include "daemon/preflight.hpp"
#include "daemon/sd_notify.hpp"
#include "daemon/ws/hub.hpp"

namespace pb::daemon {
namespace {

constexpr auto k_flush_interval = std::chrono::seconds(1);
// How long SIGTERM waits for requests under way before closing their connections.
constexpr auto k_shutdown_grace = std::chrono::seconds(5);

const std::shared_ptr<spdlog::logger>& logger() {
    static const auto l = log::get("daemon");
    return l;
}

// A flag's help: the setting's own help, its key and its variable.
std::string key_help(std::string_view key) {
    const auto* k = find_config_key(key);
    return std::string(k->help) + " [" + std::string(k->key) + ", env " + std::string(k->env) + "]";
}

int thread_count(const Config& config) {
    const auto n = config.get_int("server.threads");
    return n > 0 ? static_cast<int>(n)
                 : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

void check_range(const Config& config, std::string_view key, std::int64_t low, std::int64_t high) {
    const auto v = config.get_int(key);
    if (v < low || v > high) {
        throw Error(ErrorCode::invalid_argument,
                    std::string(key) + ": must be from " + std::to_string(low) + " to " +
                        std::to_string(high) + ", got " + std::to_string(v),
                    {{"key", key}});
    }
}

// What the key table's types cannot say: formats and ranges of pbd's settings.
void check_daemon_config(const Config& config) {
    parse_listen(config.get("server.listen"));
    check_range(config, "server.threads", 0, 1024);
    check_range(config, "server.max_body", 1, std::int64_t{1} << 32);
    check_range(config, "server.max_header", 1024, std::int64_t{1} << 24);
    check_range(config, "server.max_connections", 1, 10'000'000);
    check_range(config, "ws.max_message", 1024, std::int64_t{1} << 30);
    check_range(config, "ws.max_queue", 4096, std::int64_t{1} << 32);
    for (const auto* key : {"ws.auth_timeout", "ws.idle_timeout", "events.retention"}) {
        if (config.get_duration_ms(key) <= 0) {
            throw Error(ErrorCode::invalid_argument, std::string(key) + ": must be longer than 0",
                        {{"key", key}});
        }
    }
    if (config.get_duration_ms("audit.retention") < 0) {
        throw Error(ErrorCode::invalid_argument, "audit.retention: must be 0 (keep) or longer",
                    {{"key", "audit.retention"}});
    }
    // Redis settings and every reloadable one (limits, bans, proxies, tokens,
    // actions, log) fail --check-config too, not only the start; a reload
    // reads them with this same function.
    if (!config.get("redis.url").empty()) {
        redis::client_options_from_config(config);
    }
    runtime::read_reloadable(config);
    tokens::identity_token_settings_from_config(config);
    if (config.get_duration_ms("server.idle_timeout") <= 0) {
        throw Error(ErrorCode::invalid_argument, "server.idle_timeout: must be longer than 0",
                    {{"key", "server.idle_timeout"}});
    }
}

sigset_t stop_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    return set;
}

}  // namespace

Lifecycle::Lifecycle() = default;
Lifecycle::~Lifecycle() = default;

std::optional<int> Lifecycle::parse_flags(int argc, char** argv) {
    CLI::App app{
        "pbd: pb's daemon. Serves pb's operations over HTTP and WebSocket (/ws) on one port."};
    app.name("pbd");
    auto& f = m_flags;
    app.add_option("--config", f.config, "A pb.yaml to read [env PB_CONFIG]");
    app.add_option("--db", f.db, key_help("db.url"));
    app.add_option("--redis", f.redis, key_help("redis.url"))->type_name("URL");
    app.add_option("--listen", f.listen, key_help("server.listen"))->type_name("HOST:PORT");
    app.add_option("--threads", f.threads, key_help("server.threads"))->type_name("N");
    app.add_option("--log-level", f.log_level, key_help("log.level"));
    app.add_option("--log-format", f.log_format, key_help("log.format"));
    app.add_flag("--no-bootstrap", f.no_bootstrap,
                 "Do not create an admin key even when none is active [server.bootstrap=false]");
    app.add_option("--bootstrap-key-file", f.bootstrap_key_file,
                   key_help("server.bootstrap_key_file"))
        ->type_name("FILE");
    app.add_flag("--allow-insecure-permissions", f.allow_insecure_permissions,
                 key_help("security.allow_insecure_permissions"));
    app.add_option("--port-file", f.port_file,
                   "Once listening, write the bound port number to this file");
    app.add_flag("--check-config", f.check_config,
                 "Check the configuration as a start would (settings, secret: references, the "
                 "database, master key, password, actions and bootstrap key files), print OK and "
                 "exit; else print the first problem and exit as the start would (2: a setting, "
                 "7: a file or a backend)");
    app.set_version_flag("--version", "pbd " + build_info::summary());
    // Prints pbd(8); hidden (no group): the build runs it, people read man.
    bool man = false;
    app.add_flag("--man", man, "Print the manual page in roff")->group("");
    // Prints every route pbd answers, one "METHOD /path" a line; hidden: the
    // test that /openapi.json describes exactly these runs it.
    bool routes = false;
    app.add_flag("--routes", routes, "Print the routes pbd answers")->group("");
    try {
        app.parse(argc, argv);
        // A password in --db or --redis would otherwise show in ps.
        hide_secret_arguments(argc, argv, {});
    } catch (const CLI::ParseError& e) {
        const int rc = app.exit(e);
        return rc == 0 ? 0 : 2;
    }
    if (routes) {
        for (const auto& r : Router::routes(runtime::op_table())) {
            std::cout << r << '\n';
        }
        return 0;
    }
    if (man) {
        std::cout << docs::pbd_man_page(docs::describe(app, {}), runtime::op_table(), PB_VERSION);
        return 0;
    }
    return std::nullopt;
}

Config Lifecycle::read_config() const {
    const auto& f = m_flags;
    return Config::load(inputs_from_command_line(
        f.config,
        {{"db.url", f.db},
         {"redis.url", f.redis},
         {"server.listen", f.listen},
         {"server.threads", f.threads},
         {"log.level", f.log_level},
         {"log.format", f.log_format},
         {"server.bootstrap", f.no_bootstrap ? "false" : ""},
         {"server.bootstrap_key_file", f.bootstrap_key_file},
         {"security.allow_insecure_permissions", f.allow_insecure_permissions ? "true" : ""}}));
}

Config Lifecycle::load_config() const {
    auto config = read_config();
    check_daemon_config(config);
    return config;
}

nlohmann::json Lifecycle::reload(std::string_view why) {
    std::lock_guard lock(m_reload_mutex);
    std::optional<std::string> file;
    try {
        // The start's own path: the same flags, environment and file, the
        // same checks (--check-config's), into a staging copy; the services
        // swap to it only when all of it is valid.
        auto next = read_config();
        file = next.file();
        check_daemon_config(next);
        check_files(next);
        for (const auto& w : next.warnings()) {
            log::get("config")->warn("{}", w);
        }
        const auto retention = std::chrono::milliseconds(next.get_duration_ms("events.retention"));
        auto report = m_services->apply(std::move(next));
        m_hub->set_retention(retention);
        const auto names = [](const std::vector<std::string>& keys) {
            std::string out;
            for (const auto& k : keys) {
                out += (out.empty() ? "" : ",") + k;
            }
            return out.empty() ? std::string("none") : out;
        };
        logger()->info("config.reload ({}) applied: changed={} restart_required={}", why,
                       names(report.changed), names(report.restart_required));
        for (const auto& key : report.restart_required) {
            logger()->warn("config.reload: {} changed but takes effect only at the next start",
                           key);
        }
        return report.to_json();
    } catch (const Error& e) {
        // Name the file whenever the problem does not already.
        std::string message = e.what();
        if (file && message.find(*file) == std::string::npos) {
            message = *file + ": " + message;
        }
        logger()->error("config.reload ({}) refused, nothing changed: {}", why, message);
        auto details = e.details();
        if (file) {
            details["file"] = *file;
        }
        throw Error(e.code(), "reload refused, nothing changed: " + message, details);
    }
}

void Lifecycle::bootstrap() {
    const auto made = create_bootstrap_key(m_services->keys(), m_services->config());
    if (!made) {
        return;
    }
    // Under systemd stdout is the journal, which log shippers carry off the
    // host: the secret is shown only to a person at a terminal.
    std::cout << "pbd: bootstrap admin key written to " << made->file.string() << '\n';
    if (::isatty(STDOUT_FILENO) == 1) {
        std::cout << "pbd: bootstrap admin API key (revoke it once you have your own): "
                  << made->key << '\n';
    }
    std::cout.flush();
    logger()->info("bootstrap admin key {} created and written to {}", made->id,
                   made->file.string());
}

void Lifecycle::write_port_file(unsigned port) const {
    const std::filesystem::path path = m_flags.port_file;
    auto tmp = path;
    tmp += ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << port << '\n';
        out.flush();
        if (!out) {
            throw Error(ErrorCode::unavailable, "cannot write the port file " + tmp.string());
        }
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) {
        throw Error(ErrorCode::unavailable,
                    "cannot write the port file " + path.string() + ": " + ec.message());
    }
}

void Lifecycle::serve() {
    const auto signals = stop_signals();
    auto next_flush = std::chrono::steady_clock::now() + k_flush_interval;
    for (;;) {
        const auto now = std::chrono::steady_clock::now();
        if (now >= next_flush) {
            try {
                m_services->keys().flush_usage();
            } catch (const std::exception& e) {
                logger()->warn("could not record key usage: {}", e.what());
            }
            try {
                m_services->states().expire_due(m_services->clock().now());
            } catch (const std::exception& e) {
                logger()->warn("could not expire due states: {}", e.what());
            }
            // A few stat calls: edited action files take effect within a second.
            try {
                m_services->actions().reload_if_changed();
            } catch (const std::exception& e) {
                logger()->warn("could not reload actions: {}", e.what());
            }
            next_flush = now + k_flush_interval;
            continue;
        }
        const auto wait = std::chrono::duration_cast<std::chrono::nanoseconds>(next_flush - now);
        timespec ts{};
        ts.tv_sec = static_cast<time_t>(wait.count() / 1'000'000'000);
        ts.tv_nsec = static_cast<long>(wait.count() % 1'000'000'000);
        const int sig = sigtimedwait(&signals, nullptr, &ts);
        if (sig == SIGHUP) {
            sd_notify("RELOADING=1");
            try {
                reload("SIGHUP");
            } catch (const std::exception&) {
                // reload() logged why; the running configuration stays.
            }
            sd_notify("READY=1");
        } else if (sig == SIGTERM || sig == SIGINT) {
            logger()->info("stopping on {}", sig == SIGTERM ? "SIGTERM" : "SIGINT");
            return;
        }
    }
}

void Lifecycle::shut_down() {
    sd_notify("STOPPING=1");
    m_router->set_ready(false);
    if (auto* bus = m_services->event_bus()) {
        bus->stop_listening();  // its listeners reach into the hub
    }
    // WebSocket sessions close first (1001) and the hub's pool drains while
    // the workers still run, so nothing of the hub outlives its sockets' threads.
    m_hub->stop();
    m_server->stop(k_shutdown_grace);
    m_server.reset();
    try {
        m_services->keys().flush_usage();
    } catch (const std::exception& e) {
        logger()->warn("could not record key usage on shutdown: {}", e.what());
    }
    m_router.reset();
    m_hub.reset();
    m_metrics.reset();
    m_services.reset();
    logger()->info("stopped");
}

int Lifecycle::run(int argc, char** argv) {
    // Before any thread starts, so every thread inherits the mask and only
    // serve() receives these signals (synchronously, with sigtimedwait).
    const auto signals = stop_signals();
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    if (auto rc = parse_flags(argc, argv)) {
        return *rc;
    }
    Config config;
    try {
        config = load_config();
        log::init(config.get("log.level"), config.get("log.format"));
    } catch (const Error& e) {
        std::cerr << "pbd: " << e.what() << '\n';
        return 2;
    }
    for (const auto& w : config.warnings()) {
        log::get("config")->warn("{}", w);
    }
    if (m_flags.check_config) {
        try {
            check_startup(config);
        } catch (const Error& e) {
            std::cerr << "pbd: " << e.what() << '\n';
            return exit_code(e.code());
        } catch (const std::exception& e) {
            std::cerr << "pbd: " << e.what() << '\n';
            return 1;
        }
        std::cout << "OK\n";
        return 0;
    }

    const int threads = thread_count(config);
    try {
        ServerOptions options{
            .listen = config.get("server.listen"),
            .threads = threads,
            .max_body = static_cast<std::uint64_t>(config.get_int("server.max_body")),
            .max_header = static_cast<std::uint32_t>(config.get_int("server.max_header")),
            .idle_timeout =
                std::chrono::milliseconds(config.get_duration_ms("server.idle_timeout")),
            .max_connections = config.get_int("server.max_connections"),
        };
        const WsOptions ws_options{
            .auth_timeout = std::chrono::milliseconds(config.get_duration_ms("ws.auth_timeout")),
            .max_message = static_cast<std::uint64_t>(config.get_int("ws.max_message")),
            .max_queue = static_cast<std::uint64_t>(config.get_int("ws.max_queue")),
            .idle_timeout = std::chrono::milliseconds(config.get_duration_ms("ws.idle_timeout")),
            .retention = std::chrono::milliseconds(config.get_duration_ms("events.retention")),
            .audit_retention = std::chrono::milliseconds(config.get_duration_ms("audit.retention")),
            .poll_interval = std::chrono::milliseconds(10),
            .op_threads = std::max(2, threads),
        };
        const bool bootstrap_enabled = config.get_bool("server.bootstrap");
        check_files(config);
        // Database connections: the HTTP workers, the WebSocket op pool and its outbox tail.
        m_services = Services::open(std::move(config), SystemClock::instance(),
                                    {.pool_size = threads + ws_options.op_threads + 2});
        if (bootstrap_enabled) {
            bootstrap();
        }
        m_services->actions();  // load now: a bad actions.* setting stops the start
        // system.reload (pbctl --server URL reload, POST /v1/reload, a WebSocket op).
        m_services->set_reloader([this] { return reload("system.reload"); });
        // Keys imported before trusted issuers existed verify nothing until pinned.
        for (const auto& name : m_services->tokens().issuers().disabled()) {
            logger()->warn(
                "trusted issuer \"{}\" is disabled (imported before issuers existed): it verifies "
                "no token until its iss is pinned with pbctl tokens issuers update {} --issuer ISS",
                name, name);
        }
        m_metrics = std::make_unique<Metrics>(runtime::op_table());
        if (auto* redis = m_services->redis()) {
            options.redis = redis;
        }
        m_router = std::make_unique<Router>(*m_services, runtime::op_table(), *m_metrics);
        m_server = std::make_unique<HttpServer>(*m_router, *m_metrics, options);
        m_hub = std::make_unique<WsHub>(*m_services, ws_options);
        m_metrics->set_extra([hub = m_hub.get(), services = m_services.get()](std::string& out) {
            hub->render_metrics(out);
            append_redis_metrics(*services, out);
            append_outcome_metrics(out);
            append_store_metrics(services->store(), out);
            append_outbox_lag(services->store(), hub->fanout().position(), services->clock().now(),
                              out);
            append_process_metrics(out);
            append_limit_metrics(*services, out);
        });
        m_server->enable_websocket(*m_hub);
        auto* bus = m_services->event_bus();
        if (bus != nullptr) {
            // Events committed by any daemon or pbctl reach this one's
            // subscribers without waiting for its outbox poll; rooms span daemons.
            bus->on_event([hub = m_hub.get()](const events::Event& e) { hub->offer(e); });
            bus->on_resync([hub = m_hub.get()] {
                hub->poke();
                hub->reannounce_rooms();
            });
            m_hub->relay_rooms(*bus, *m_services->redis());
        }
        m_hub->start();
        if (bus != nullptr) {
            bus->listen();
        }
        const auto port = m_server->start();
        if (!m_flags.port_file.empty()) {
            write_port_file(port);
        }
        m_router->set_ready(true);
        logger()->info("listening on {} (port {}) with {} thread(s), database {}, {}",
                       options.listen, port, threads, m_services->store().location(),
                       m_services->redis() != nullptr ? "redis " + m_services->redis()->location()
                                                      : std::string("no redis (limits in memory)"));
        sd_notify("READY=1\nSTATUS=listening on port " + std::to_string(port) +
                  "\nMAINPID=" + std::to_string(getpid()));
    } catch (const std::exception& e) {
        logger()->critical("cannot start: {}", e.what());
        // As pbctl would exit for the same error: 2 a setting, 7 a file or a backend.
        const auto* error = dynamic_cast<const Error*>(&e);
        return error != nullptr ? exit_code(error->code()) : 1;
    }
    serve();
    shut_down();
    return 0;
}

}  // namespace pb::daemon
