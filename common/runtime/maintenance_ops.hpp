#pragma once

#include "common/ops/registry.hpp"

namespace pb::runtime {

// db.backup (SQLite's online backup API), db.purge (expired bans, token
// revocations and refresh tokens) and audit.list: the housekeeping the shipped
// actions run.
void register_maintenance_ops(ops::OpTable& table);

}  // namespace pb::runtime
