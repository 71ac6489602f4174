#pragma once

#include "common/ops/registry.hpp"

namespace pb::states {

// states.register, states.get, states.update, states.transition,
// states.history, states.list, states.delete.
void register_states_ops(ops::OpTable& table);

}  // namespace pb::states
