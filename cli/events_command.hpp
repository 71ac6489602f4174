#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "common/core/config.hpp"

namespace pb::cli {

// pbctl's streaming commands, which are not ops and so not in the op table:
// `events tail` and `states watch ID`. They print each event as one JSON line
// as it arrives, from the database's outbox (local mode, polling its change
// token) or from pbd's WebSocket (--server). And `audit tail [-f]`: the audit
// rows after a chain position as JSON lines, polling audit.list (on the
// database, or pbd's route).
class StreamCommands {
  public:
    // Adds the commands to `app`, under the groups the op table made if they
    // exist (so `states watch` joins `states get`, …). Call after CommandTree.
    explicit StreamCommands(CLI::App& app);

    // True when one of them was given, after app.parse().
    bool selected() const;

    // Runs it and returns pbctl's exit status.
    int run(const Config& config);

  private:
    CLI::App* m_tail = nullptr;
    CLI::App* m_watch = nullptr;
    CLI::App* m_audit_tail = nullptr;
    bool m_follow = false;
    std::vector<std::string> m_topics;
    std::string m_state_id;
    std::optional<std::int64_t> m_since;
    std::optional<std::int64_t> m_count;
    std::string m_timeout;
};

}  // namespace pb::cli
