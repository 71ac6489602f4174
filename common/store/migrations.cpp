#include "common/store/migrations.hpp"

#include <array>
#include <chrono>

#include "common/core/log.hpp"

namespace pb::store {
namespace {

constexpr std::array k_migrations{
    Migration{1, "api keys, events outbox, audit log", R"SQL(
CREATE TABLE api_keys (
    id               TEXT PRIMARY KEY,
    owner            TEXT NOT NULL,
    name             TEXT NOT NULL DEFAULT '',
    secret_hash      TEXT NOT NULL,
    prev_secret_hash TEXT,
    prev_expires_at  BIGINT,
    permissions      TEXT NOT NULL DEFAULT '[]',
    metadata         TEXT NOT NULL DEFAULT '{}',
    created_at       BIGINT NOT NULL,
    created_by       TEXT NOT NULL DEFAULT '',
    updated_at       BIGINT NOT NULL,
    expires_at       BIGINT,
    remaining        BIGINT,
    revoked_at       BIGINT,
    last_used_at     BIGINT
);
CREATE INDEX api_keys_owner ON api_keys (owner);
CREATE TABLE events (
    seq        {{serial_pk}},
    topic      TEXT NOT NULL,
    type       TEXT NOT NULL,
    data       TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL
);
CREATE INDEX events_topic ON events (topic, seq);
CREATE TABLE audit_log (
    id      {{serial_pk}},
    at      BIGINT NOT NULL,
    actor   TEXT NOT NULL,
    op      TEXT NOT NULL,
    target  TEXT NOT NULL DEFAULT '',
    outcome TEXT NOT NULL,
    args    TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at ON audit_log (at)
)SQL"},
    Migration{2, "JWT signing keys, refresh tokens, revocations", R"SQL(
CREATE TABLE signing_keys (
    kid            TEXT PRIMARY KEY,
    alg            TEXT NOT NULL,
    status         TEXT NOT NULL,
    origin         TEXT NOT NULL,
    public_jwk     TEXT,
    private_sealed TEXT,
    created_at     BIGINT NOT NULL,
    created_by     TEXT NOT NULL DEFAULT '',
    retired_at     BIGINT
);
CREATE TABLE refresh_tokens (
    jti        TEXT PRIMARY KEY,
    family     TEXT NOT NULL,
    sub        TEXT NOT NULL,
    claims     TEXT NOT NULL DEFAULT '{}',
    issued_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    spent_at   BIGINT
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family);
CREATE TABLE token_revocations (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT NOT NULL,
    revoked_by TEXT NOT NULL DEFAULT '',
    reason     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX token_revocations_expires ON token_revocations (expires_at)
)SQL"},
    Migration{3, "bans, per-key rate limits", R"SQL(
CREATE TABLE bans (
    id         {{serial_pk}},
    kind       TEXT NOT NULL,
    value      TEXT NOT NULL,
    reason     TEXT NOT NULL DEFAULT '',
    origin     TEXT NOT NULL DEFAULT 'manual',
    created_by TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    strikes    BIGINT NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX bans_target ON bans (kind, value);
CREATE INDEX bans_expires ON bans (expires_at);
ALTER TABLE api_keys ADD COLUMN rate_limit TEXT
)SQL"},
    Migration{4, "states and their history", R"SQL(
CREATE TABLE states (
    id         TEXT PRIMARY KEY,
    type       TEXT NOT NULL,
    status     TEXT NOT NULL,
    data       TEXT NOT NULL DEFAULT '{}',
    allowed    TEXT,
    version    BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL DEFAULT '',
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL DEFAULT '',
    expires_at BIGINT,
    ttl_ms     BIGINT
);
CREATE INDEX states_type_status ON states (type, status, id);
CREATE INDEX states_expires ON states (expires_at);
CREATE TABLE state_history (
    id         {{serial_pk}},
    state_id   TEXT NOT NULL,
    version    BIGINT NOT NULL,
    transition TEXT NOT NULL,
    status     TEXT NOT NULL,
    data       TEXT NOT NULL DEFAULT '{}',
    actor      TEXT NOT NULL DEFAULT '',
    at         BIGINT NOT NULL
);
CREATE UNIQUE INDEX state_history_version ON state_history (state_id, version)
)SQL"},
    Migration{5, "local secrets (versions sealed under the master key)", R"SQL(
CREATE TABLE secrets (
    path            TEXT PRIMARY KEY,
    current_version BIGINT NOT NULL DEFAULT 0,
    oldest_version  BIGINT NOT NULL DEFAULT 0,
    max_versions    BIGINT NOT NULL DEFAULT 0,
    cas_required    BIGINT NOT NULL DEFAULT 0,
    custom_metadata TEXT NOT NULL DEFAULT '{}',
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE TABLE secret_versions (
    path       TEXT NOT NULL REFERENCES secrets (path),
    version    BIGINT NOT NULL,
    sealed     TEXT,
    created_at BIGINT NOT NULL,
    deleted_at BIGINT,
    destroyed  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (path, version)
)
)SQL"},
    // Keys imported before trusted issuers existed verified tokens of any iss:
    // each public one becomes a disabled issuer (no iss pinned, so it verifies
    // nothing) named after its kid; pbd names them at start. Verify-only HMAC
    // secrets cannot be moved without the master key: they are retired, and
    // their issuer is added again with its JWK. Imported keys that sign stay
    // pb's own keys.
    Migration{6, "trusted token issuers (replacing imported keys)", R"SQL(
CREATE TABLE token_issuers (
    name        TEXT PRIMARY KEY,
    issuer      TEXT,
    audience    TEXT,
    grants      TEXT NOT NULL DEFAULT '[]',
    jwks_url    TEXT,
    allow_http  BIGINT NOT NULL DEFAULT 0,
    jwks        TEXT,
    jwks_sealed TEXT,
    created_at  BIGINT NOT NULL,
    created_by  TEXT NOT NULL DEFAULT '',
    updated_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX token_issuers_issuer ON token_issuers (issuer);
INSERT INTO token_issuers (name, grants, jwks, created_at, created_by, updated_at)
    SELECT 'imported-' || kid, '[]', public_jwk, created_at, created_by, created_at
    FROM signing_keys
    WHERE origin = 'imported' AND public_jwk IS NOT NULL AND private_sealed IS NULL;
DELETE FROM signing_keys
    WHERE origin = 'imported' AND public_jwk IS NOT NULL AND private_sealed IS NULL;
UPDATE signing_keys SET status = 'retired', private_sealed = NULL, retired_at = created_at
    WHERE origin = 'imported' AND status = 'verify' AND public_jwk IS NULL
)SQL"},
    // What each CrowdSec bouncer puller (its caller and client address) was
    // last sent: its next delta pull is the difference between this and the
    // bans in force (limits/bouncer_pulls.hpp says why a set, not a cursor).
    Migration{7, "CrowdSec bouncer pull state (per caller and address)", R"SQL(
CREATE TABLE IF NOT EXISTS bouncer_pullers (
    id            {{serial_pk}},
    actor         TEXT NOT NULL,
    address       TEXT NOT NULL,
    first_pull_at BIGINT NOT NULL,
    last_pull_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS bouncer_pullers_who ON bouncer_pullers (actor, address);
CREATE INDEX IF NOT EXISTS bouncer_pullers_last ON bouncer_pullers (last_pull_at);
CREATE TABLE IF NOT EXISTS bouncer_sent (
    puller_id  BIGINT NOT NULL,
    ban_id     BIGINT NOT NULL,
    kind       TEXT NOT NULL,
    value      TEXT NOT NULL,
    reason     TEXT NOT NULL DEFAULT '',
    origin     TEXT NOT NULL DEFAULT 'manual',
    expires_at BIGINT,
    PRIMARY KEY (puller_id, ban_id)
)
)SQL"},
    // Keys and bans are listed a page at a time in (created_at, id) order
    // (store/keyset.hpp): without this index each page sorted the whole table.
    Migration{8, "keyset pages of keys and bans", R"SQL(
CREATE INDEX IF NOT EXISTS api_keys_created_id ON api_keys (created_at, id);
CREATE INDEX IF NOT EXISTS bans_created_id ON bans (created_at, id)
)SQL"},
    // A bouncer puller's outbox position and filter, so a delta pull compares
    // only the bans changed since (limits/bouncer_pulls.hpp), and the expiry
    // index it finds the decisions that ran out with.
    Migration{9, "CrowdSec delta pulls from the outbox position", R"SQL(
ALTER TABLE bouncer_pullers ADD COLUMN outbox_seq BIGINT;
ALTER TABLE bouncer_pullers ADD COLUMN filter TEXT NOT NULL DEFAULT '';
CREATE INDEX bouncer_sent_expiry ON bouncer_sent (puller_id, expires_at)
)SQL"},
    // A key can be disabled and enabled again (revoking is for good), and a
    // key moved in from another system is found by the SHA-256 of its text
    // (keys/service.hpp: disable, import_keys), in tables beside api_keys.
    Migration{10, "disabled keys, keys imported by hash", R"SQL(
CREATE TABLE IF NOT EXISTS api_key_disabled (
    disabled_key_id TEXT PRIMARY KEY REFERENCES api_keys (id) ON DELETE CASCADE,
    disabled_at     BIGINT NOT NULL,
    disabled_reason TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS api_key_imports (
    imported_hash   TEXT PRIMARY KEY,
    imported_key_id TEXT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    imported_at     BIGINT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS api_key_imports_key ON api_key_imports (imported_key_id)
)SQL"},
    Migration{11, "identities, named limits, refills of remaining", R"SQL(
CREATE TABLE IF NOT EXISTS identities (
    id             TEXT PRIMARY KEY,
    metadata       TEXT NOT NULL DEFAULT '{}',
    limits         TEXT NOT NULL DEFAULT '[]',
    remaining      BIGINT,
    refill         TEXT,
    last_refill_at BIGINT,
    created_at     BIGINT NOT NULL,
    created_by     TEXT NOT NULL DEFAULT '',
    updated_at     BIGINT NOT NULL
);
ALTER TABLE api_keys ADD COLUMN identity_id TEXT REFERENCES identities (id);
ALTER TABLE api_keys ADD COLUMN limits TEXT;
ALTER TABLE api_keys ADD COLUMN refill TEXT;
ALTER TABLE api_keys ADD COLUMN last_refill_at BIGINT;
CREATE INDEX IF NOT EXISTS api_keys_identity ON api_keys (identity_id)
)SQL"},
    // pbctl on the database counts rate limits here (limits/store_limiter.hpp:
    // GCRA's theoretical arrival time per scope and identifier; idle_at lets
    // refilled rows be purged), and overrides of a scope's policy for an
    // address, a range, a name or a glob (limits/overrides.hpp).
    Migration{12, "rate-limit counters in the database, limit overrides", R"SQL(
CREATE TABLE IF NOT EXISTS limit_counters (
    scope               TEXT NOT NULL,
    id                  TEXT NOT NULL,
    tat_us              BIGINT NOT NULL,
    violations          BIGINT NOT NULL DEFAULT 0,
    violations_until_ms BIGINT NOT NULL DEFAULT 0,
    idle_at             BIGINT NOT NULL,
    PRIMARY KEY (scope, id)
);
CREATE INDEX IF NOT EXISTS limit_counters_idle ON limit_counters (idle_at);
CREATE TABLE IF NOT EXISTS limit_overrides (
    id         {{serial_pk}},
    scope      TEXT NOT NULL,
    value      TEXT NOT NULL,
    kind       TEXT NOT NULL,
    rate       TEXT NOT NULL,
    shadow     BIGINT NOT NULL DEFAULT 0,
    reason     TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX IF NOT EXISTS limit_overrides_target ON limit_overrides (scope, value)
)SQL"},
    // The audit log becomes a chain (events/audit_log.hpp): each new row
    // carries its place (seq) and an HMAC over its content and the previous
    // row's HMAC; audit_chain holds the head (last seq and HMAC, taken under a
    // row lock by every writer) and what retention pruned. Rows written before
    // this step keep seq NULL: `audit verify` counts them as unchained.
    Migration{13, "tamper-evident audit chain", R"SQL(
ALTER TABLE audit_log ADD COLUMN seq BIGINT;
ALTER TABLE audit_log ADD COLUMN hmac TEXT;
CREATE UNIQUE INDEX audit_log_seq ON audit_log (seq);
CREATE TABLE audit_chain (
    id          BIGINT PRIMARY KEY,
    last_seq    BIGINT NOT NULL,
    last_hmac   TEXT NOT NULL,
    pruned_seq  BIGINT NOT NULL,
    pruned_hmac TEXT NOT NULL,
    pruned_at   BIGINT,
    head_hmac   TEXT NOT NULL DEFAULT ''
);
INSERT INTO audit_chain (id, last_seq, last_hmac, pruned_seq, pruned_hmac) VALUES (1, 0, '', 0, '')
)SQL"},
};

constexpr std::string_view k_create_migrations_table =
    "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT "
    "NULL, applied_at BIGINT NOT NULL)";

std::int64_t current_version(Connection& c) {
    c.exec(k_create_migrations_table);
    const auto rows = c.query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
    return rows.front().get_int(0);
}

// "ALTER TABLE t ADD COLUMN c …" of a column `t` already has: skipped, so
// that a migration that adds columns may run again (SQLite has no ADD COLUMN
// IF NOT EXISTS). Any other statement: false.
bool adds_existing_column(Connection& c, Dialect dialect, std::string_view stmt) {
    static constexpr std::string_view k_alter = "ALTER TABLE ";
    static constexpr std::string_view k_add = " ADD COLUMN ";
    const auto start = stmt.find_first_not_of(" \n\t\r");
    if (start == std::string_view::npos || stmt.substr(start, k_alter.size()) != k_alter) {
        return false;
    }
    const auto rest = stmt.substr(start + k_alter.size());
    const auto add = rest.find(k_add);
    if (add == std::string_view::npos) {
        return false;
    }
    const std::string table(rest.substr(0, add));
    const auto column_text = rest.substr(add + k_add.size());
    const std::string column(column_text.substr(0, column_text.find(' ')));
    const auto sql = dialect == Dialect::sqlite
                         ? "SELECT COUNT(*) FROM pragma_table_info($1) WHERE name = $2"
                         : "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = "
                           "current_schema() AND table_name = $1 AND column_name = $2";
    return c.query(sql, {table, column}).front().get_int(0) > 0;
}

}  // namespace

std::span<const Migration> migrations() {
    return k_migrations;
}

std::string migration_lock_sql(Dialect dialect) {
    // SQLite's write transaction (BEGIN IMMEDIATE) already excludes every other
    // writer; on PostgreSQL, hosts migrating at once queue on one advisory lock
    // (the number is arbitrary, fixed: "pb" schema), held until the step commits.
    return dialect == Dialect::postgresql ? "SELECT pg_advisory_xact_lock(7062001)" : "";
}

std::string dialect_sql(std::string_view sql, Dialect dialect) {
    static constexpr std::string_view k_serial = "{{serial_pk}}";
    const std::string_view serial = dialect == Dialect::sqlite
                                        ? "INTEGER PRIMARY KEY AUTOINCREMENT"
                                        : "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY";
    std::string out(sql);
    for (auto pos = out.find(k_serial); pos != std::string::npos; pos = out.find(k_serial, pos)) {
        out.replace(pos, k_serial.size(), serial);
        pos += serial.size();
    }
    return out;
}

std::vector<std::int64_t> migrate(Store& store, const Clock& clock) {
    std::vector<std::int64_t> applied;
    for (const auto& m : k_migrations) {
        // Each step re-reads the version inside its write transaction, so two
        // processes migrating at once apply every step exactly once.
        const bool did = store.transaction([&](Connection& c) {
            if (const auto lock = migration_lock_sql(store.dialect()); !lock.empty()) {
                c.query(lock);
            }
            // By version, not by the highest one: a test that steps one
            // migration back re-applies that one alone.
            c.exec(k_create_migrations_table);
            if (!c.query("SELECT 1 FROM schema_migrations WHERE version = $1", {m.version})
                     .empty()) {
                return false;
            }
            const std::string sql = dialect_sql(m.sql, store.dialect());
            std::string_view rest(sql);
            while (!rest.empty()) {
                const auto end = rest.find(';');
                const auto stmt = rest.substr(0, end);
                if (stmt.find_first_not_of(" \n\t\r") != std::string_view::npos &&
                    !adds_existing_column(c, store.dialect(), stmt)) {
                    c.exec(stmt);
                }
                rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
            }
            c.exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                   {m.version, std::string(m.name), clock.now()});
            return true;
        });
        if (did) {
            applied.push_back(m.version);
            log::get("store")->info("schema migrated to version {} ({})", m.version, m.name);
        }
    }
    return applied;
}

nlohmann::json schema_status(Store& store) {
    const auto start = std::chrono::steady_clock::now();
    const auto version = store.transaction([](Connection& c) { return current_version(c); });
    const auto latency_us = std::chrono::duration_cast<std::chrono::microseconds>(
                                std::chrono::steady_clock::now() - start)
                                .count();
    nlohmann::json pending = nlohmann::json::array();
    for (const auto& m : k_migrations) {
        if (m.version > version) {
            pending.push_back({{"version", m.version}, {"name", m.name}});
        }
    }
    nlohmann::json out{
        {"backend", store.backend()}, {"location", store.location()},
        {"schema_version", version},  {"latest_version", k_migrations.back().version},
        {"pending", pending},         {"latency_ms", static_cast<double>(latency_us) / 1000.0}};
    out.update(store.info());
    return out;
}

}  // namespace pb::store
