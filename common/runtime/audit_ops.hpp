#pragma once

#include "common/ops/registry.hpp"

namespace pb::runtime {

// The audit log's ops (events/audit_log.hpp): audit.list (newest first,
// filtered, paged; or the rows after a seq, oldest first, for `audit tail`),
// audit.verify (the chain check), audit.hash (a secret value as the rows
// store it) and audit.prune (retention by hand; pbd prunes by audit.retention).
void register_audit_ops(ops::OpTable& table);

}  // namespace pb::runtime
