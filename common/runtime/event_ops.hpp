#pragma once

#include "common/ops/registry.hpp"

namespace pb::runtime {

// events.list: the event outbox a page at a time, for callers without a
// WebSocket (the same events `subscribe` pushes, with the same permissions).
void register_event_ops(ops::OpTable& t);

}  // namespace pb::runtime
