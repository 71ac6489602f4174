#pragma once

#include "common/actions/op_host.hpp"
#include "common/ops/registry.hpp"

namespace pb::runtime {

// Every op of pb, registered once, in a fixed order: system ops, then each
// domain's register_<domain>_ops(), then the WebSocket session's own
// (register_ws_ops: served by pbd's sockets only, ops::ServedOn::websocket).
// No static self-registration: it silently vanishes from static libraries.
const ops::OpTable& op_table();

// What actions need from runtime: this op table and dispatch(). Handed to
// the actions' ops when they are registered and to the catalog when it is built.
actions::OpHost actions_host();

// db.*, config.*, health, version.
void register_system_ops(ops::OpTable& table);

}  // namespace pb::runtime
