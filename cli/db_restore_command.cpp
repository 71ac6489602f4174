#include "cli/db_restore_command.hpp"

#include <iostream>

#include "common/core/error.hpp"
#include "common/store/sqlite_restore.hpp"
#include "common/store/store.hpp"

namespace pb::cli {

RestoreCommand::RestoreCommand(CLI::App& app) {
    CLI::App* db = nullptr;
    for (auto* sub : app.get_subcommands([](CLI::App*) { return true; })) {
        if (sub->get_name() == "db") {
            db = sub;
        }
    }
    if (db == nullptr) {
        db = app.add_subcommand("db", "The database");
        db->require_subcommand(1);
    }
    m_restore = db->add_subcommand(
        "restore",
        "Replace the SQLite database with a backup (db backup's FILE), after checking it");
    m_restore->add_option("file", m_file, "The backup to restore")->required()->type_name("FILE");
    m_restore->add_flag("--force", m_force,
                        "Replace it even while a process (pbd) has it open; restart that "
                        "process right after");
    m_restore->footer(
        "Checks FILE first (SQLite's integrity_check and foreign_key_check, and that its "
        "migrations are pb's, none newer than this pbctl knows): a file that fails changes "
        "nothing. Refuses while pbd or another pbctl has the database open (stop pbd first). "
        "The new file is written beside the database with its owner and mode, then renamed "
        "over it; the database it replaces is kept as DB.pre-restore. Run it as the database's "
        "owner (e.g. sudo -u pb). SQLite only: for PostgreSQL use pg_dump and pg_restore.");
}

bool RestoreCommand::selected() const {
    return m_restore->parsed();
}

int RestoreCommand::run(const Config& config, OutputFormat format) {
    if (!config.get("cli.server").empty()) {
        throw Error(ErrorCode::invalid_argument,
                    "db restore works on the database file, not through pbd: run it without "
                    "--server on the machine that has the database",
                    {{"param", "server"}});
    }
    const auto url = config.get("db.url");
    const auto path = store::sqlite_path(url);
    if (!path) {
        throw Error(ErrorCode::invalid_argument,
                    "db restore restores SQLite databases; for PostgreSQL use pg_restore "
                    "(see the README's PostgreSQL section)",
                    {{"param", "db"}});
    }
    const auto r = store::restore_sqlite(
        *path, m_file, m_force ? store::WhenHeld::replace_anyway : store::WhenHeld::refuse);
    nlohmann::json out{
        {"database", r.database},
        {"from", m_file},
        {"schema_version", r.restored.schema_version},
        {"bytes", r.restored.bytes},
        {"previous", r.previous.empty() ? nlohmann::json() : nlohmann::json(r.previous)}};
    if (r.held_by) {
        out["held_by_pid"] = *r.held_by;
    }
    if (format == OutputFormat::json) {
        std::cout << out.dump(2) << '\n';
    } else if (format == OutputFormat::quiet) {
        std::cout << r.database << '\n';
    } else {
        std::cout << "restored " << r.database << " from " << m_file << " (schema version "
                  << r.restored.schema_version << ", " << r.restored.bytes << " bytes)\n";
        if (!r.previous.empty()) {
            std::cout << "the database it replaced is kept as " << r.previous << '\n';
        }
    }
    if (r.held_by) {
        std::cerr << "pbctl: process " << *r.held_by
                  << " still has the old database open: restart it now\n";
    }
    return 0;
}

}  // namespace pb::cli
