#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/core/clock.hpp"
#include "common/core/secret_box.hpp"
#include "common/store/store.hpp"

namespace pb::events {

// One audit row as written: who ran which op on what, with what outcome and
// arguments (JSON text; secret values already replaced by value_hash()).
struct AuditRecord {
    std::string actor;
    std::string op;
    std::string target;
    std::string outcome;
    std::string args = "{}";
};

struct AuditOptions {
    // A read whose row cannot be written fails too (a change always does:
    // its row is in its transaction).
    bool fail_closed = false;
    // Where every committed row is appended as one JSON line (0600, opened
    // per row so log rotation needs no signal); empty: nowhere.
    std::string file;
};

// The audit log: a hash chain on the store. Each row carries its place `seq`
// and `hmac` = HMAC-SHA256 under a key derived from the master key
// ("audit.chain") over [seq, at, actor, op, target, outcome, args, previous
// row's hmac]. The one row of audit_chain holds the head (last seq and hmac)
// and the pruned head (the last pruned row's seq and hmac), itself signed
// (head_hmac). Every writer takes that row's lock (SELECT … FOR UPDATE on
// PostgreSQL; SQLite's writer lock) in the transaction of the change, so
// however many processes write, there is one chain and rows take their seq in
// commit order. Without the key, a changed, inserted or removed row (or a
// forged pruning) shows; removing the newest rows together with the head's
// update to an older state does not: `verify` prints the head, which an
// operator can note elsewhere, and audit.file ships rows off the host.
class AuditLog {
  public:
    AuditLog(store::Store& store, const Clock& clock, std::function<const SecretBox&()> box,
             AuditOptions options);

    const AuditOptions& options() const { return m_options; }

    // Appends `r` in the open transaction `c` (takes the chain head's lock
    // until it commits). The JSON line for audit.file goes out after commit.
    void append(store::Connection& c, const AuditRecord& r);
    // Appends `r` in a transaction of its own (or the one this thread has open).
    void record(const AuditRecord& r);

    // "hmac-sha256:<hex>" of a secret value under the "audit.value" key: what
    // audit rows store instead of the value, and `pbctl audit hash` prints.
    std::string value_hash(std::string_view value);
    // `args` with every string inside the op's secret values replaced by its
    // value_hash (objects and lists keep their shape).
    nlohmann::json hash_values(const nlohmann::json& value);

    // Walks the whole chain from the pruned head. Returns {"ok": true,
    // "checked", "unchained", "head", "pruned"}; throws Error(conflict) naming
    // each row that was changed, inserted or removed (details: "problems").
    // Reads only.
    nlohmann::json verify();

    // Deletes the rows older than `before_ms` (never the newest), after
    // checking the part it deletes: a tampered part is kept and reported
    // (Error(conflict)). Records the last deleted row as the pruned head.
    // Returns how many rows were deleted.
    std::int64_t prune(std::int64_t before_ms);

  private:
    struct Keys {
        std::string chain;
        std::string value;
    };
    const Keys& keys();
    std::string row_hmac(std::int64_t seq, std::int64_t at, const AuditRecord& r,
                         std::string_view prev);
    std::string head_hmac(std::int64_t last_seq, std::string_view last_hmac,
                          std::int64_t pruned_seq, std::string_view pruned_hmac);
    void write_line(const nlohmann::json& line) const;

    store::Store& m_store;
    const Clock& m_clock;
    std::function<const SecretBox&()> m_box;
    AuditOptions m_options;
    std::once_flag m_keys_once;
    std::optional<Keys> m_keys;
};

}  // namespace pb::events
