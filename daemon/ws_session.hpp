#pragma once
// Private to http/connection.cpp and ws_session.cpp (Boost.Asio types).

#include "daemon/http/request.hpp"
#include "daemon/http/server_state.hpp"

namespace pb::daemon::http_detail {

// True when `request` asks for a WebSocket (a GET with Upgrade: websocket).
bool wants_websocket(const Request& request);

// Takes over `socket`, whose HTTP request `request` asked for the upgrade:
// admits the client (bans, rate limits, a credential in the headers), answers
// the handshake and serves the WebSocket protocol (see WsHub) on the socket's
// worker thread, with ops on the hub's pool. Runs on the worker's thread.
void serve_websocket(ServerState& server, Socket socket, const Request& request);

}  // namespace pb::daemon::http_detail
