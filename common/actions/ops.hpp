#pragma once

#include "common/actions/op_host.hpp"
#include "common/ops/registry.hpp"

namespace pb::actions {

// actions.list, actions.show, actions.run, actions.lint; actions.lint checks op
// actions against host.table().
void register_actions_ops(ops::OpTable& table, const OpHost& host);

}  // namespace pb::actions
