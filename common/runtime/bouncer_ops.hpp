#pragma once

#include "common/ops/registry.hpp"

namespace pb::runtime {

// bouncers.add, bouncers.list, bouncers.remove (`pbctl bouncers …`): API keys
// for CrowdSec bouncers, owned by "bouncer:NAME" and limited to bans:read,
// which is all pbd's /v1/decisions routes ask; and their pull state.
void register_bouncer_ops(ops::OpTable& table);

}  // namespace pb::runtime
