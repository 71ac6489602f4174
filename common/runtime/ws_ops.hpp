#pragma once

#include "common/ops/registry.hpp"

namespace pb::runtime {

// The WebSocket session's own ops (ops::ServedOn::websocket): authenticate,
// token_refresh, subscribe, unsubscribe, join_room, leave_room, room_message,
// get_room_info. Described here (params, permission, answer and pushed
// frames, errors, examples) so that validation, permissions, pbd(8) and
// /asyncapi.json read them from the table; served only by pbd, which binds
// their handlers (daemon/ws/session_table.cpp): the handler the table holds
// refuses to run anywhere else. Registered after tokens (token_refresh is
// tokens.refresh's twin).
void register_ws_ops(ops::OpTable& table);

}  // namespace pb::runtime
