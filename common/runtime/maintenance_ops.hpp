#pragma once

#include "common/ops/registry.hpp"

namespace pb::runtime {

// db.backup (SQLite's online backup API) and db.purge (expired bans, token
// revocations and refresh tokens): the housekeeping the shipped actions run
// (the audit log's ops are audit_ops.hpp's).
void register_maintenance_ops(ops::OpTable& table);

}  // namespace pb::runtime
