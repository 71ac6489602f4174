#include "common/core/config.hpp"

#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <unistd.h>

#include <yaml-cpp/yaml.h>

#include "common/core/error.hpp"
#include "common/core/log.hpp"
#include "common/core/time_format.hpp"
#include "common/core/yaml_parse.hpp"

extern char** environ;

namespace pb {
namespace {

using enum ConfigType;
using enum ConfigScope;

constexpr std::array k_keys{
    ConfigKey{"db.url", string, "", "PB_DB", both, Sensitivity::plain,
              "Database: a SQLite file path (sqlite:///path or a plain path), or a PostgreSQL URL "
              "(postgresql://user@host:port/db, shared by several pbd). Empty means "
              "$XDG_DATA_HOME/pb/pb.db (~/.local/share/pb/pb.db)."},
    ConfigKey{"db.busy_timeout", duration, "5s", "PB_DB_BUSY_TIMEOUT", both, Sensitivity::plain,
              "How long a writer waits for a locked SQLite database."},
    ConfigKey{"server.listen", string, "127.0.0.1:8700", "PB_LISTEN", daemon, Sensitivity::plain,
              "Address and port pbd listens on (port 0 picks a free one)."},
    ConfigKey{"server.threads", integer, "0", "PB_THREADS", daemon, Sensitivity::plain,
              "Worker threads; 0 means one per core."},
    ConfigKey{"server.max_body", integer, "1048576", "PB_MAX_BODY", both, Sensitivity::plain,
              "Largest request body in bytes (413 beyond); also the most pbctl reads for one "
              "param from a file or stdin."},
    ConfigKey{"server.max_header", integer, "16384", "PB_MAX_HEADER", daemon, Sensitivity::plain,
              "Largest request header block in bytes (431 beyond)."},
    ConfigKey{"server.idle_timeout", duration, "60s", "PB_IDLE_TIMEOUT", daemon, Sensitivity::plain,
              "A keep-alive connection idle this long is closed."},
    ConfigKey{"server.max_connections", integer, "10000", "PB_MAX_CONNECTIONS", daemon,
              Sensitivity::plain, "Connections beyond this are refused."},
    ConfigKey{"server.trusted_proxies", string, "127.0.0.0/8,::1", "PB_TRUSTED_PROXIES", daemon,
              Sensitivity::plain,
              "Comma-separated addresses or CIDR ranges of reverse proxies whose X-Forwarded-For "
              "and X-Real-IP name the client; empty: trust none."},
    ConfigKey{"server.bootstrap", boolean, "true", "PB_BOOTSTRAP", daemon, Sensitivity::plain,
              "Create an admin API key when no active key holds admin, and write it to "
              "server.bootstrap_key_file."},
    ConfigKey{"server.bootstrap_key_file", string, "", "PB_BOOTSTRAP_KEY_FILE", daemon,
              Sensitivity::plain,
              "Where pbd writes the bootstrap admin key (a new file, mode 0600; it is never "
              "printed to the log). Empty means bootstrap-admin.key beside the SQLite database; "
              "with PostgreSQL, $STATE_DIRECTORY/bootstrap-admin.key under systemd, else it must "
              "be set."},
    ConfigKey{"log.level", string, "info", "PB_LOG_LEVEL", both, Sensitivity::plain,
              "trace, debug, info, warn, error or off."},
    ConfigKey{"log.format", string, "auto", "PB_LOG_FORMAT", both, Sensitivity::plain,
              "text, json, or auto (text on a terminal, JSON lines otherwise)."},
    ConfigKey{"cli.server", string, "", "PB_SERVER", cli, Sensitivity::plain,
              "A pbd URL; when set pbctl sends its commands there instead of the database."},
    ConfigKey{"cli.api_key", string, "", "PB_API_KEY", cli, Sensitivity::secret,
              "The API key pbctl presents to pbd in remote mode."},
    ConfigKey{"security.master_key_file", string, "", "PB_MASTER_KEY_FILE", both,
              Sensitivity::plain,
              "The AES-256-GCM master key that encrypts signing keys at rest (created 0600 on "
              "first use), local secrets and the audit chain's HMAC. Empty means master.key "
              "beside the SQLite database; required on PostgreSQL (pbd refuses to start "
              "without it), one file shared by every pbd and pbctl of the database."},
    ConfigKey{"security.allow_insecure_permissions", boolean, "false",
              "PB_ALLOW_INSECURE_PERMISSIONS", both, Sensitivity::plain,
              "Accept a database or master key file that other users may read (pb refuses "
              "them otherwise)."},
    ConfigKey{"tokens.issuer", string, "pb", "PB_JWT_ISSUER", both, Sensitivity::plain,
              "The iss claim of issued tokens, required of tokens signed by pb's own keys."},
    ConfigKey{"tokens.access_ttl", duration, "15m", "PB_JWT_ACCESS_TTL", both, Sensitivity::plain,
              "Lifetime of access tokens."},
    ConfigKey{"tokens.refresh_ttl", duration, "30d", "PB_JWT_REFRESH_TTL", both, Sensitivity::plain,
              "Lifetime of refresh tokens."},
    ConfigKey{"tokens.leeway", duration, "30s", "PB_JWT_LEEWAY", both, Sensitivity::plain,
              "Clock skew allowed when checking exp, nbf and iat."},
    ConfigKey{"tokens.default_alg", string, "ES256", "PB_JWT_ALG", both, Sensitivity::plain,
              "Algorithm of issued tokens when none is asked for."},
    ConfigKey{"tokens.hmac_secret", string, "", "PB_JWT_SECRET", both, Sensitivity::secret,
              "A shared HMAC secret (kid \"config\") for services that verify with a shared "
              "secret; at least as long as the hash (32 bytes for HS256)."},
    ConfigKey{"tokens.hmac_alg", string, "HS256", "PB_JWT_HMAC_ALG", both, Sensitivity::plain,
              "Algorithm of tokens.hmac_secret: HS256, HS384 or HS512."},
    ConfigKey{"tokens.max_size", integer, "8192", "PB_JWT_MAX_SIZE", both, Sensitivity::plain,
              "Tokens longer than this many bytes are refused unread."},
    ConfigKey{"tokens.daemon_audience", string, "pbd", "PB_JWT_DAEMON_AUDIENCE", both,
              Sensitivity::plain,
              "A token pb issues is a credential for pbd only when its aud is absent or names "
              "this; tokens issued for other audiences (upstream services) are refused by pbd."},
    ConfigKey{"tokens.jwks_min_refresh", duration, "30s", "PB_JWT_JWKS_MIN_REFRESH", both,
              Sensitivity::plain,
              "A trusted issuer's JWKS URL is fetched at most once per this, however many "
              "tokens name a kid it lacks."},
    ConfigKey{"tokens.jwks_cache_ttl", duration, "10m", "PB_JWT_JWKS_CACHE_TTL", both,
              Sensitivity::plain,
              "Keys fetched from a JWKS URL are fetched again when a token comes and they are "
              "older than this."},
    ConfigKey{"tokens.jwks_max_stale", duration, "24h", "PB_JWT_JWKS_MAX_STALE", both,
              Sensitivity::plain,
              "While a JWKS URL cannot be fetched, the keys last fetched keep verifying for this "
              "long after that fetch, then its tokens are refused."},
    ConfigKey{"tokens.jwks_timeout", duration, "5s", "PB_JWT_JWKS_TIMEOUT", both,
              Sensitivity::plain,
              "How long one fetch of a JWKS URL may take (a request that waits for it waits no "
              "longer)."},
    ConfigKey{"gate.identity_token.enabled", boolean, "false", "PB_GATE_IDENTITY_TOKEN", daemon,
              Sensitivity::plain,
              "GET /v1/auth also answers X-PB-Identity-Token: a short-lived JWT signed by pb "
              "(token_use \"identity\"; sub, owner, key_id, permissions) for the upstream to "
              "verify from pb's JWKS instead of trusting plain headers. pbd never accepts it as "
              "a credential. A caller's token is reused until a quarter of its lifetime is left."},
    ConfigKey{"gate.identity_token.audience", string, "", "PB_GATE_IDENTITY_AUDIENCE", daemon,
              Sensitivity::plain,
              "The aud of identity tokens, which upstreams check; required when they are "
              "enabled, and never tokens.daemon_audience."},
    ConfigKey{"gate.identity_token.lifetime", duration, "5m", "PB_GATE_IDENTITY_LIFETIME", daemon,
              Sensitivity::plain, "How long an identity token is valid: whole seconds, 10s to 1h."},
    ConfigKey{"gate.identity_token.alg", string, "ES256", "PB_GATE_IDENTITY_ALG", daemon,
              Sensitivity::plain,
              "Algorithm of identity tokens: an asymmetric one (ES256, ES384, EdDSA, RS256, "
              "RS384, RS512, PS256), whose public key pb's JWKS publishes."},
    ConfigKey{"gate.identity_token.cache_entries", integer, "10000",
              "PB_GATE_IDENTITY_CACHE_ENTRIES", daemon, Sensitivity::plain,
              "Callers whose identity token pbd keeps for reuse (about 1 KiB each); beyond it an "
              "older one is dropped. 0: sign on every request."},
    ConfigKey{"cli.timeout", duration, "30s", "PB_TIMEOUT", cli, Sensitivity::plain,
              "How long pbctl waits for pbd in remote mode."},
    ConfigKey{"limits.ip.rate", string, "100/s", "PB_LIMITS_IP_RATE", both, Sensitivity::plain,
              "Rate limit per client address: N/s, N/min, N/h, N/d, or off."},
    ConfigKey{"limits.ip.burst", integer, "0", "PB_LIMITS_IP_BURST", both, Sensitivity::plain,
              "Requests a client address may make at once; 0 means the rate's N."},
    ConfigKey{"limits.user.rate", string, "50/s", "PB_LIMITS_USER_RATE", both, Sensitivity::plain,
              "Rate limit per user (JWT subject or key owner): N/s, N/min, N/h, N/d, or off."},
    ConfigKey{"limits.user.burst", integer, "0", "PB_LIMITS_USER_BURST", both, Sensitivity::plain,
              "Requests a user may make at once; 0 means the rate's N."},
    ConfigKey{"limits.key.rate", string, "50/s", "PB_LIMITS_KEY_RATE", both, Sensitivity::plain,
              "Rate limit per API key, unless the key has its own: N/s, N/min, N/h, N/d, or off."},
    ConfigKey{"limits.key.burst", integer, "0", "PB_LIMITS_KEY_BURST", both, Sensitivity::plain,
              "Requests an API key may make at once; 0 means the rate's N."},
    ConfigKey{"limits.ip.shadow", boolean, "false", "PB_LIMITS_IP_SHADOW", both, Sensitivity::plain,
              "Shadow mode for the address scope's policy: count and report (shadow_limited, "
              "pb_limit_shadow_denied_total) but never refuse."},
    ConfigKey{"limits.user.shadow", boolean, "false", "PB_LIMITS_USER_SHADOW", both,
              Sensitivity::plain,
              "Shadow mode for the user scope's policy (see limits.ip.shadow)."},
    ConfigKey{"limits.key.shadow", boolean, "false", "PB_LIMITS_KEY_SHADOW", both,
              Sensitivity::plain,
              "Shadow mode for the API key scope's policy (see limits.ip.shadow)."},
    ConfigKey{"limits.algorithm", string, "gcra", "PB_LIMITS_ALGORITHM", both, Sensitivity::plain,
              "Rate-limit algorithm: gcra (the only one so far)."},
    ConfigKey{"limits.max_tracked", integer, "250000", "PB_LIMITS_MAX_TRACKED", both,
              Sensitivity::plain,
              "Identifiers tracked per scope in memory (about 128 bytes each); idle ones are "
              "dropped first beyond it."},
    ConfigKey{"bans.auto.threshold", integer, "20", "PB_BANS_AUTO_THRESHOLD", both,
              Sensitivity::plain,
              "Rate-limit denials within bans.auto.window that ban the identifier; 0 turns "
              "automatic bans off."},
    ConfigKey{"bans.auto.window", duration, "1m", "PB_BANS_AUTO_WINDOW", both, Sensitivity::plain,
              "The window in which bans.auto.threshold denials are counted."},
    ConfigKey{"bans.auto.duration", duration, "5m", "PB_BANS_AUTO_DURATION", both,
              Sensitivity::plain, "How long a first automatic ban lasts."},
    ConfigKey{"bans.auto.factor", integer, "2", "PB_BANS_AUTO_FACTOR", both, Sensitivity::plain,
              "Each repeated automatic ban of the same identifier lasts this many times longer."},
    ConfigKey{"bans.auto.max", duration, "1d", "PB_BANS_AUTO_MAX", both, Sensitivity::plain,
              "The longest an automatic ban lasts."},
    ConfigKey{"bans.allow", string, "127.0.0.0/8,::1", "PB_BANS_ALLOW", both, Sensitivity::plain,
              "Comma-separated addresses and CIDR ranges never banned automatically and not "
              "rate limited (the operator's own network and proxies)."},
    ConfigKey{"bans.retention", duration, "30d", "PB_BANS_RETENTION", both, Sensitivity::plain,
              "Expired bans are kept this long (bans list --include-expired, repeat counting), "
              "then purged."},
    ConfigKey{"actions.paths", string, "", "PB_ACTIONS_PATHS", both, Sensitivity::plain,
              "Comma-separated folders (or files) of action YAML files; empty: no actions. pbd "
              "reloads them on SIGHUP and when they change."},
    ConfigKey{"actions.max_concurrent", integer, "4", "PB_ACTIONS_MAX_CONCURRENT", both,
              Sensitivity::plain, "Action commands that may run at once; more are refused (503)."},
    ConfigKey{"actions.kill_grace", duration, "5s", "PB_ACTIONS_KILL_GRACE", both,
              Sensitivity::plain,
              "After an action's timeout, how long its process group has between SIGTERM and "
              "SIGKILL."},
    ConfigKey{"secrets.backend", string, "local", "PB_SECRETS_BACKEND", both, Sensitivity::plain,
              "Where secrets live: local (in the database, AES-256-GCM under the master key) or "
              "vault (HashiCorp Vault's KV v2 at secrets.vault.address)."},
    ConfigKey{"secrets.max_versions", integer, "10", "PB_SECRETS_MAX_VERSIONS", both,
              Sensitivity::plain,
              "Versions the local backend keeps of a secret whose own max_versions is 0."},
    ConfigKey{"secrets.config_path", string, "pb/config", "PB_SECRETS_CONFIG_PATH", both,
              Sensitivity::plain,
              "The secret whose fields, named after settings (\"tokens.hmac_secret\"), win "
              "for sensitive settings: secret store > secrets.files_dir > env > pb.yaml > "
              "default. Empty: not consulted."},
    ConfigKey{"secrets.files_dir", string, "", "PB_SECRETS_DIR", both, Sensitivity::plain,
              "A folder of files named after sensitive settings (Kubernetes or Docker "
              "secrets), read after the secret store and before the environment."},
    ConfigKey{"secrets.vault.address", string, "", "VAULT_ADDR", both, Sensitivity::plain,
              "Vault's URL, e.g. https://vault.example:8200."},
    ConfigKey{"secrets.vault.token", string, "", "VAULT_TOKEN", both, Sensitivity::secret,
              "The Vault token (prefer secrets.vault.token_file or AppRole)."},
    ConfigKey{"secrets.vault.token_file", string, "", "PB_VAULT_TOKEN_FILE", both,
              Sensitivity::plain, "A file holding the Vault token (e.g. a Vault Agent sink)."},
    ConfigKey{"secrets.vault.role_id", string, "", "PB_VAULT_ROLE_ID", both, Sensitivity::plain,
              "AppRole role_id: with secret_id, pb logs in and renews its token itself."},
    ConfigKey{"secrets.vault.secret_id", string, "", "PB_VAULT_SECRET_ID", both,
              Sensitivity::secret, "AppRole secret_id."},
    ConfigKey{"secrets.vault.approle_mount", string, "approle", "PB_VAULT_APPROLE_MOUNT", both,
              Sensitivity::plain, "Where the AppRole auth method is mounted."},
    ConfigKey{"secrets.vault.namespace", string, "", "VAULT_NAMESPACE", both, Sensitivity::plain,
              "Vault Enterprise namespace (sent as X-Vault-Namespace)."},
    ConfigKey{"secrets.vault.mount", string, "secret", "PB_VAULT_MOUNT", both, Sensitivity::plain,
              "The KV v2 secrets engine's mount path."},
    ConfigKey{"secrets.vault.cacert", string, "", "VAULT_CACERT", both, Sensitivity::plain,
              "A PEM file of CA certificates that verify Vault's TLS certificate."},
    ConfigKey{"secrets.vault.skip_verify", boolean, "false", "VAULT_SKIP_VERIFY", both,
              Sensitivity::plain, "Do not verify Vault's TLS certificate (never in production)."},
    ConfigKey{"secrets.vault.timeout", duration, "10s", "VAULT_CLIENT_TIMEOUT", both,
              Sensitivity::plain, "How long one request to Vault may take."},
    ConfigKey{"secrets.vault.max_retries", integer, "2", "VAULT_MAX_RETRIES", both,
              Sensitivity::plain,
              "Retries (with backoff) of a read that failed to reach Vault or got 5xx; writes "
              "are never retried."},
    ConfigKey{"events.retention", duration, "7d", "PB_EVENTS_RETENTION", daemon, Sensitivity::plain,
              "pbd deletes outbox events older than this (the newest is always kept); resuming "
              "a subscription from before it is refused as a gap."},
    ConfigKey{"audit.retention", duration, "0s", "PB_AUDIT_RETENTION", daemon, Sensitivity::plain,
              "pbd deletes audit rows older than this (0s: never; the newest is always kept), "
              "after checking them, and records the last deleted row so `audit verify` still "
              "checks the chain from there."},
    ConfigKey{"audit.file", string, "", "PB_AUDIT_FILE", both, Sensitivity::plain,
              "Append every audit row, once committed, as one JSON line to this file (created "
              "0600) for log shippers; empty: none."},
    ConfigKey{"audit.fail_closed", boolean, "false", "PB_AUDIT_FAIL_CLOSED", both,
              Sensitivity::plain,
              "A read of secrets (secrets.get, config.show) fails when its audit row cannot "
              "be written (a change always fails: its row is in its transaction)."},
    ConfigKey{"ws.auth_timeout", duration, "10s", "PB_WS_AUTH_TIMEOUT", daemon, Sensitivity::plain,
              "A WebSocket that has not authenticated within this long is closed (1008)."},
    ConfigKey{"ws.max_message", integer, "1048576", "PB_WS_MAX_MESSAGE", daemon, Sensitivity::plain,
              "The largest WebSocket message pbd reads, in bytes (else 1009)."},
    ConfigKey{"ws.max_queue", integer, "4194304", "PB_WS_MAX_QUEUE", daemon, Sensitivity::plain,
              "Bytes of outgoing messages a WebSocket client may fall behind by before it is "
              "dropped (1013)."},
    ConfigKey{"ws.idle_timeout", duration, "60s", "PB_WS_IDLE_TIMEOUT", daemon, Sensitivity::plain,
              "pbd pings a quiet WebSocket after half this time and closes it when nothing, not "
              "even the pong, came back within it."},
    ConfigKey{"db.pool_size", integer, "0", "PB_DB_POOL_SIZE", both, Sensitivity::plain,
              "Database connections per process; 0 means pbd's worker threads + 2 (pbctl: 1)."},
    ConfigKey{"db.password_file", string, "", "PB_DB_PASSWORD_FILE", both, Sensitivity::plain,
              "PostgreSQL: a file holding the password (first line), used instead of one in "
              "db.url."},
    ConfigKey{"db.password", string, "", "PB_DB_PASSWORD", both, Sensitivity::secret,
              "PostgreSQL: the password, used instead of one in db.url; may be a secret: "
              "reference when secrets.backend is vault (the local backend lives in the "
              "database it would open). db.password_file wins over it."},
    ConfigKey{"db.connect_timeout", duration, "5s", "PB_DB_CONNECT_TIMEOUT", both,
              Sensitivity::plain,
              "PostgreSQL: how long to wait for the server before answering unavailable."},
    ConfigKey{"redis.url", string, "", "PB_REDIS", both, Sensitivity::plain,
              "Redis shared by every pbd (and pbctl): redis://[user:password@]host:port/db or "
              "unix:///path.sock. Rate limits then count across daemons, and bans, revocations "
              "and events reach every daemon at once. Empty: no Redis."},
    ConfigKey{"redis.password", string, "", "PB_REDIS_PASSWORD", both, Sensitivity::secret,
              "Redis: the password (AUTH), used instead of one in redis.url (which ps would "
              "show when given as --redis)."},
    ConfigKey{"redis.pool_size", integer, "8", "PB_REDIS_POOL_SIZE", both, Sensitivity::plain,
              "Redis connections per process, besides pbd's subscriber."},
    ConfigKey{"redis.timeout", duration, "500ms", "PB_REDIS_TIMEOUT", both, Sensitivity::plain,
              "How long a Redis command may take before it counts as a failure."},
    ConfigKey{"redis.connect_timeout", duration, "1s", "PB_REDIS_CONNECT_TIMEOUT", both,
              Sensitivity::plain, "How long to wait for Redis to accept a connection."},
    ConfigKey{"redis.prefix", string, "pb:", "PB_REDIS_PREFIX", both, Sensitivity::plain,
              "Prefix of every Redis key and channel pb uses, so that one Redis can serve "
              "several installations."},
    ConfigKey{"redis.on_failure", string, "closed", "PB_REDIS_ON_FAILURE", both, Sensitivity::plain,
              "When Redis-backed rate limits cannot be checked, what GET /v1/auth and "
              "limits.check answer: closed (refuse: 503) or open (allow, counted in /metrics)."},
    ConfigKey{"redis.on_failure_api", string, "open", "PB_REDIS_ON_FAILURE_API", daemon,
              Sensitivity::plain,
              "The same choice for the rate limits on pbd's own API (keys, states, …): open "
              "keeps operators working through a Redis outage."},
    ConfigKey{"redis.key_cache_ttl", duration, "30s", "PB_REDIS_KEY_CACHE_TTL", both,
              Sensitivity::plain,
              "How long a verified API key's record stays in Redis, where every process looks "
              "before the database. A change deletes it, and a process never uses a record "
              "older than a change it has seen. Entries are sealed with the master key (none: "
              "no caching). 0s: API keys are not cached in Redis. PostgreSQL only: SQLite "
              "reads faster than Redis answers."},
};

// "scheme://user:secret@host…" shown as "scheme://user:<redacted>@host…".
std::string redact_url_password(const std::string& v) {
    const auto scheme = v.find("://");
    if (scheme == std::string::npos) {
        return v;
    }
    const auto at = v.find('@', scheme + 3);
    const auto colon = v.find(':', scheme + 3);
    if (at == std::string::npos || colon == std::string::npos || colon > at) {
        return v;
    }
    return v.substr(0, colon + 1) + "<redacted>" + v.substr(at);
}

void check_type(const ConfigKey& key, const std::string& value, std::string_view source) {
    bool ok = true;
    switch (key.type) {
        case string:
            break;
        case integer: {
            char* end = nullptr;
            errno = 0;
            std::strtoll(value.c_str(), &end, 10);
            ok = !value.empty() && end != nullptr && *end == '\0' && errno == 0;
            break;
        }
        case boolean:
            ok = value == "true" || value == "false" || value == "1" || value == "0" ||
                 value == "yes" || value == "no";
            break;
        case duration:
            ok = parse_duration(value).has_value();
            break;
    }
    if (!ok) {
        static_assert(k_max_duration_ms == 36500LL * 86'400'000, "the text below names it");
        static constexpr std::array k_type_names{"text", "an integer", "true or false",
                                                 "a duration like 30s or 5m, at most 36500d"};
        std::string msg = std::string(key.key) + " (from " + std::string(source) + "): expected " +
                          k_type_names[static_cast<int>(key.type)];
        if (key.sensitivity == Sensitivity::plain) {
            msg += ", got \"" + value + "\"";
        }
        throw Error(ErrorCode::invalid_argument, msg, {{"key", key.key}});
    }
}

void flatten(const YAML::Node& node, const std::string& prefix,
             std::map<std::string, std::pair<std::string, int>>& out) {
    if (node.IsMap()) {
        for (const auto& kv : node) {
            const auto name = kv.first.as<std::string>();
            flatten(kv.second, prefix.empty() ? name : prefix + "." + name, out);
        }
    } else if (node.IsScalar()) {
        out[prefix] = {node.Scalar(), node.Mark().line + 1};
    } else if (!node.IsNull()) {
        out[prefix] = {"", -(node.Mark().line + 1)};  // sequences are not settings
    }
}

std::string default_db_path() {
    std::filesystem::path base;
    if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg != nullptr && *xdg != '\0') {
        base = xdg;
    } else if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
        base = std::filesystem::path(home) / ".local" / "share";
    } else {
        base = ".";
    }
    return (base / "pb" / "pb.db").string();
}

}  // namespace

std::span<const ConfigKey> config_keys() {
    return k_keys;
}

const ConfigKey* find_config_key(std::string_view key) {
    for (const auto& k : k_keys) {
        if (k.key == key) {
            return &k;
        }
    }
    return nullptr;
}

std::string_view to_string(ConfigSource source) {
    switch (source) {
        case ConfigSource::flag:
            return "flag";
        case ConfigSource::env:
            return "env";
        case ConfigSource::file:
            return "file";
        case ConfigSource::fallback:
            return "default";
        case ConfigSource::secret:
            return "secret";
        case ConfigSource::secret_file:
            return "secret_file";
    }
    return "default";
}

std::map<std::string, std::string> read_environment() {
    std::map<std::string, std::string> env;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        std::string_view kv(*e);
        // Vault's own variables (VAULT_ADDR, …) too, so a shell set up for the
        // vault CLI works unchanged.
        if (!kv.starts_with("PB_") && !kv.starts_with("VAULT_")) {
            continue;
        }
        const auto eq = kv.find('=');
        if (eq != std::string_view::npos) {
            env.emplace(kv.substr(0, eq), kv.substr(eq + 1));
        }
    }
    return env;
}

Config Config::load(const ConfigInputs& inputs) {
    Config cfg;
    for (const auto& k : k_keys) {
        cfg.m_values[std::string(k.key)] =
            Entry{std::string(k.fallback), ConfigSource::fallback, ""};
    }
    cfg.m_values["db.url"].value = default_db_path();

    std::optional<std::string> file = inputs.file;
    if (!file) {
        if (auto it = inputs.env.find("PB_CONFIG"); it != inputs.env.end() && !it->second.empty()) {
            file = it->second;
        } else if (std::filesystem::exists("/etc/pb/pb.yaml")) {
            file = "/etc/pb/pb.yaml";
        }
    }
    if (file) {
        YAML::Node root;
        try {
            root = load_yaml_file(*file);
        } catch (const YAML::BadFile&) {
            throw Error(ErrorCode::invalid_argument, "cannot read config file " + *file);
        } catch (const YAML::Exception& e) {
            throw Error(ErrorCode::invalid_argument,
                        *file + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
        }
        std::map<std::string, std::pair<std::string, int>> flat;
        flatten(root, "", flat);
        for (const auto& [key, value] : flat) {
            const auto* spec = find_config_key(key);
            const std::string where = *file + ":" + std::to_string(std::abs(value.second));
            if (spec == nullptr) {
                cfg.m_warnings.push_back(where + ": unknown setting \"" + key + "\"");
                continue;
            }
            if (value.second < 0) {
                throw Error(ErrorCode::invalid_argument, where + ": " + key + " must be a value");
            }
            check_type(*spec, value.first, where);
            cfg.m_values[key] = Entry{value.first, ConfigSource::file, *file};
        }
        cfg.m_file = file;
    }
    for (const auto& k : k_keys) {
        if (auto it = inputs.env.find(std::string(k.env)); it != inputs.env.end()) {
            check_type(k, it->second, k.env);
            cfg.m_values[std::string(k.key)] =
                Entry{it->second, ConfigSource::env, std::string(k.env)};
        }
    }
    for (const auto& [key, value] : inputs.flags) {
        const auto* spec = find_config_key(key);
        if (spec == nullptr) {
            throw Error(ErrorCode::internal, "flag for unknown setting " + key);
        }
        check_type(*spec, value, "flag");
        cfg.m_values[key] = Entry{value, ConfigSource::flag, ""};
    }
    return cfg;
}

void Config::resolve_secrets(const SecretLookup& lookup, std::string_view only) {
    constexpr std::string_view k_ref = "secret:";
    const auto& config_path = get("secrets.config_path");
    const auto& files_dir = get("secrets.files_dir");
    for (const auto& k : k_keys) {
        if (k.key.starts_with("secrets.") || (!only.empty() && k.key != only)) {
            continue;
        }
        auto& e = m_values[std::string(k.key)];
        const std::string where = e.origin.empty() ? std::string(to_string(e.source)) : e.origin;
        if (std::string_view(e.value).starts_with(k_ref)) {
            const std::string ref = e.value;
            const auto hash = ref.find('#');
            if (hash == std::string::npos || hash == k_ref.size() || hash + 1 == ref.size()) {
                throw Error(ErrorCode::invalid_argument,
                            std::string(k.key) + " (from " + where +
                                "): a secret reference is secret:PATH#FIELD",
                            {{"key", k.key}});
            }
            const auto path = ref.substr(k_ref.size(), hash - k_ref.size());
            const auto field = ref.substr(hash + 1);
            auto value = lookup(path, field);
            if (!value) {
                throw Error(
                    ErrorCode::invalid_argument,
                    std::string(k.key) + " (from " + where + "): " + ref + " does not exist",
                    {{"key", k.key}});
            }
            check_type(k, *value, ref);
            e = Entry{std::move(*value), ConfigSource::secret, ref, true};
            continue;
        }
        if (k.sensitivity != Sensitivity::secret || e.source == ConfigSource::flag) {
            continue;
        }
        if (!config_path.empty()) {
            std::optional<std::string> value;
            try {
                value = lookup(config_path, k.key);
            } catch (const Error& err) {
                // Like the original: a store that cannot be asked falls through to
                // the next source. A token without access to this path is normal.
                if (err.code() == ErrorCode::unavailable) {
                    log::get("config")->warn("{}: secret store skipped: {}", k.key, err.what());
                } else if (err.code() == ErrorCode::permission_denied) {
                    log::get("config")->debug("{}: secret store skipped: {}", k.key, err.what());
                } else {
                    throw;
                }
            }
            if (value) {
                const auto ref = "secret:" + config_path + "#" + std::string(k.key);
                check_type(k, *value, ref);
                e = Entry{std::move(*value), ConfigSource::secret, ref, true};
                continue;
            }
        }
        if (!files_dir.empty()) {
            const auto file = (std::filesystem::path(files_dir) / std::string(k.key)).string();
            std::ifstream in(file);
            if (in) {
                std::string value{std::istreambuf_iterator<char>(in),
                                  std::istreambuf_iterator<char>()};
                while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) {
                    value.pop_back();
                }
                check_type(k, value, file);
                e = Entry{std::move(value), ConfigSource::secret_file, file, true};
            }
        }
    }
}

const Config::Entry& Config::entry(std::string_view key) const {
    auto it = m_values.find(key);
    if (it == m_values.end()) {
        throw Error(ErrorCode::invalid_argument, "unknown setting \"" + std::string(key) + "\"",
                    {{"key", key}});
    }
    return it->second;
}

const std::string& Config::get(std::string_view key) const {
    return entry(key).value;
}

std::int64_t Config::get_int(std::string_view key) const {
    return std::stoll(get(key));
}

bool Config::get_bool(std::string_view key) const {
    const auto& v = get(key);
    return v == "true" || v == "1" || v == "yes";
}

std::int64_t Config::get_duration_ms(std::string_view key) const {
    return parse_duration(get(key)).value_or(0);
}

nlohmann::json Config::explain(std::string_view key) const {
    const auto& e = entry(key);
    const auto* spec = find_config_key(key);
    // A value that came from a secret is one, whatever the key.
    const bool secret = spec->sensitivity == Sensitivity::secret || e.from_secret;
    nlohmann::json j{
        {"key", key},
        {"value", secret && !e.value.empty() ? "<redacted>" : redact_url_password(e.value)},
        {"source", to_string(e.source)},
        {"env", spec->env},
        {"default", spec->fallback},
        {"help", spec->help}};
    if (!e.origin.empty()) {
        j["origin"] = e.origin;
    }
    return j;
}

nlohmann::json Config::show() const {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& k : k_keys) {
        out.push_back(explain(k.key));
    }
    return out;
}

}  // namespace pb
