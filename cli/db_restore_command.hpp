#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "cli/render.hpp"
#include "common/core/config.hpp"

namespace pb::cli {

// `pbctl db restore FILE [--force]`: replaces the SQLite database with a
// backup after checking it (store::restore_sqlite). Not an op: it works on
// the database file, never through pbd, and refuses while pbd (or any
// process) has the database open unless --force.
class RestoreCommand {
  public:
    // Adds the command under `db` (the group the op table made). Call after CommandTree.
    explicit RestoreCommand(CLI::App& app);

    // True when it was given, after app.parse().
    bool selected() const;

    // Runs it and returns pbctl's exit status (errors are thrown as pb::Error).
    int run(const Config& config, OutputFormat format);

  private:
    CLI::App* m_restore = nullptr;
    std::string m_file;
    bool m_force = false;
};

}  // namespace pb::cli
