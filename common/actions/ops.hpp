#pragma once

#include "common/ops/registry.hpp"

namespace pb::actions {

// actions.list, actions.show, actions.run, actions.lint.
void register_actions_ops(ops::OpTable& table);

}  // namespace pb::actions
