#pragma once

#include "common/ops/registry.hpp"

namespace pb::limits {

// bans.add, bans.list, bans.check, bans.remove, bans.import, bans.export,
// limits.check, limits.status, limits.reset.
void register_limits_ops(ops::OpTable& table);

}  // namespace pb::limits
