// The table's WebSocket ops (ops::ServedOn::websocket) bound to the session's
// handlers by name: the table says what each takes, needs and answers; the
// session, which alone has the socket and the hub, does it.
#include "common/core/error.hpp"
#include "common/runtime/dispatcher.hpp"
#include "daemon/ws/hub.hpp"
#include "daemon/ws/session.hpp"

namespace pb::daemon::http_detail {
using nlohmann::json;

const std::map<std::string_view, WsSession::SessionOp>& WsSession::handlers() {
    static const std::map<std::string_view, SessionOp> k_handlers{
        {"authenticate", &WsSession::authenticate}, {"token_refresh", &WsSession::token_refresh},
        {"subscribe", &WsSession::subscribe},       {"unsubscribe", &WsSession::unsubscribe},
        {"join_room", &WsSession::join_room},       {"leave_room", &WsSession::leave_room},
        {"room_message", &WsSession::room_message}, {"get_room_info", &WsSession::get_room_info},
    };
    return k_handlers;
}

void WsSession::check_bindings(const ops::OpTable& table) {
    for (const auto& op : table.all()) {
        if (op.websocket_only() && !handlers().contains(op.name)) {
            throw Error(ErrorCode::internal, "WebSocket op " + op.name + " has no handler in pbd");
        }
    }
    for (const auto& [name, handler] : handlers()) {
        const auto* op = table.find(name);
        if (op == nullptr || !op->websocket_only()) {
            throw Error(ErrorCode::internal,
                        "pbd's handler " + std::string(name) + " is no WebSocket op of the table");
        }
    }
}

json WsSession::run_session_op(const ops::Op& op, const json& args, const ops::Caller& caller) {
    const auto it = handlers().find(op.name);
    if (it == handlers().end()) {
        throw Error(ErrorCode::internal, "WebSocket op " + op.name + " has no handler in pbd");
    }
    const auto handler = it->second;
    return runtime::dispatch(
        m_hub.services(), op,
        [this, handler](ops::Context& ctx, const json& valid) {
            return (this->*handler)(valid, ctx.caller);
        },
        args, caller, ops::NameStyle::field);
}

}  // namespace pb::daemon::http_detail
