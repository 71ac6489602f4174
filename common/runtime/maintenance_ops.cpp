#include "common/runtime/maintenance_ops.hpp"

#include <chrono>
#include <filesystem>
#include <thread>

#include <sqlite3.h>

#include "common/core/error.hpp"
#include "common/core/private_file.hpp"
#include "common/limits/ban_service.hpp"
#include "common/limits/store_limiter.hpp"
#include "common/ops/paging.hpp"
#include "common/ops/schema.hpp"
#include "common/runtime/services.hpp"

namespace pb::runtime {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace pb::ops;

struct Db {
    sqlite3* handle = nullptr;
    ~Db() { sqlite3_close_v2(handle); }
};

[[noreturn]] void fail(sqlite3* db, const std::string& what) {
    throw Error(ErrorCode::unavailable,
                what + ": " + (db != nullptr ? sqlite3_errmsg(db) : "out of memory"));
}

// A consistent copy of the live database, taken with sqlite3_backup while pb
// keeps running; written beside the target and renamed, so the target is
// either absent or complete.
json backup(Services& s, const std::string& target_text) {
    if (s.store().backend() != "sqlite") {
        throw Error(ErrorCode::invalid_argument, "db.backup works on SQLite only");
    }
    const fs::path target = fs::absolute(target_text).lexically_normal();
    std::error_code ec;
    if (fs::exists(target, ec)) {
        throw Error(ErrorCode::conflict, "db.backup: " + target.string() + " already exists",
                    {{"target", target.string()}});
    }
    if (!fs::is_directory(target.parent_path(), ec)) {
        throw Error(ErrorCode::invalid_argument,
                    "db.backup: no folder " + target.parent_path().string(),
                    {{"target", target.string()}});
    }
    const auto partial = target.string() + ".partial";
    fs::remove(partial, ec);
    const auto start = std::chrono::steady_clock::now();
    Db src;
    Db dst;
    if (sqlite3_open_v2(s.store().location().c_str(), &src.handle, SQLITE_OPEN_READONLY, nullptr) !=
        SQLITE_OK) {
        fail(src.handle, "db.backup: cannot open the database");
    }
    sqlite3_busy_timeout(src.handle,
                         static_cast<int>(s.config().get_duration_ms("db.busy_timeout")));
    // A copy of the database is as private as the database: SQLite would make it 0644.
    write_new_private_file(partial, "", private_file_mode(target.parent_path()));
    if (sqlite3_open_v2(partial.c_str(), &dst.handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                        nullptr) != SQLITE_OK) {
        fail(dst.handle, "db.backup: cannot create " + partial);
    }
    sqlite3_backup* b = sqlite3_backup_init(dst.handle, "main", src.handle, "main");
    if (b == nullptr) {
        fail(dst.handle, "db.backup");
    }
    int rc = SQLITE_OK;
    // -1: every page in one step, under one read transaction (no restarts when
    // pb writes meanwhile). Busy only while a writer holds an exclusive lock.
    for (int attempt = 0; attempt < 500; ++attempt) {
        rc = sqlite3_backup_step(b, -1);
        if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    const int pages = sqlite3_backup_pagecount(b);
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE) {
        const std::string msg = sqlite3_errstr(rc);
        fs::remove(partial, ec);
        throw Error(ErrorCode::unavailable, "db.backup: " + msg);
    }
    sqlite3_close_v2(dst.handle);
    dst.handle = nullptr;
    fs::rename(partial, target, ec);
    if (ec) {
        fs::remove(partial, ec);
        throw Error(ErrorCode::unavailable, "db.backup: cannot write " + target.string());
    }
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - start)
                        .count();
    return json{{"target", target.string()},
                {"bytes", static_cast<std::int64_t>(fs::file_size(target, ec))},
                {"pages", pages},
                {"duration_ms", ms}};
}

json purge(Services& s) {
    const auto now = s.clock().now();
    const auto bans = s.bans().purge_expired();
    auto [revocations, refresh] = s.store().transaction([&](store::Connection& c) {
        // Past their expiry these rows decide nothing: the tokens they concern
        // are refused as expired anyway.
        return std::pair{c.exec("DELETE FROM token_revocations WHERE expires_at < $1", {now}),
                         c.exec("DELETE FROM refresh_tokens WHERE expires_at < $1", {now})};
    });
    // Refilled rate-limit counters (pbctl's, in the database) answer as absent ones.
    const auto counters = limits::StoreLimiter(s.store(), s.clock()).purge_idle();
    return json{{"bans", bans},
                {"token_revocations", revocations},
                {"refresh_tokens", refresh},
                {"limit_counters", counters}};
}

}  // namespace

void register_maintenance_ops(OpTable& t) {
    t.add(Op{
        .name = "db.backup",
        .summary = "Copy the SQLite database to a new file while pb runs (online backup API)",
        .params = {Param{.name = "target",
                         .help = "The file to create (refused if it exists)",
                         .required = Required::yes,
                         .positional = Positional::yes}},
        .permission = "admin",
        .mutates = Mutates::yes,
        .route = {"POST", "/v1/db/backup"},
        .handler =
            [](Context& ctx, const json& a) {
                return backup(ctx.service<Services>(), a["target"].get<std::string>());
            },
        .quiet_field = "target",
        .audit_target = "target",
        .response = ops::schema::object({{"target", ops::schema::string()},
                                         {"bytes", ops::schema::integer()},
                                         {"pages", ops::schema::integer()},
                                         {"duration_ms", ops::schema::integer()}}),
        .errors = {ErrorCode::conflict},
        .examples = {{"Back up the database",
                      {{"target", "/var/backups/pb/pb-2026-01-02.db"}},
                      {{"target", "/var/backups/pb/pb-2026-01-02.db"},
                       {"bytes", 249856},
                       {"pages", 61},
                       {"duration_ms", 4}}}},
    });
    t.add(Op{
        .name = "db.purge",
        .summary = "Delete expired bans (after bans.retention), token revocations, refresh "
                   "tokens and refilled rate-limit counters",
        .permission = "admin",
        .mutates = Mutates::yes,
        .route = {"POST", "/v1/db/purge"},
        .handler = [](Context& ctx, const json&) { return purge(ctx.service<Services>()); },
        .response = ops::schema::object({{"bans", ops::schema::integer()},
                                         {"token_revocations", ops::schema::integer()},
                                         {"refresh_tokens", ops::schema::integer()},
                                         {"limit_counters", ops::schema::integer()}},
                                        "How many rows each purge deleted"),
        .examples = {{"Purge what has expired",
                      json::object(),
                      {{"bans", 3},
                       {"token_revocations", 12},
                       {"refresh_tokens", 40},
                       {"limit_counters", 7}}}},
    });
}

}  // namespace pb::runtime
