#pragma once

#include "common/ops/registry.hpp"

namespace pb::runtime {

// Every op of pb, registered once, in a fixed order: system ops, then each
// domain's register_<domain>_ops(). No static self-registration: it silently
// vanishes from static libraries.
const ops::OpTable& op_table();

// db.*, config.*, health, version.
void register_system_ops(ops::OpTable& table);

}  // namespace pb::runtime
