// The session's requests: decoded, run one at a time on the hub's pool,
// answered with {"id","ok","result"|"error"}.
#include <boost/asio/post.hpp>

#include "common/core/error.hpp"
#include "common/core/log.hpp"
#include "common/runtime/dispatcher.hpp"
#include "common/runtime/op_table.hpp"
#include "daemon/ws/hub.hpp"
#include "daemon/ws/message.hpp"
#include "daemon/ws/session.hpp"

namespace pb::daemon::http_detail {
namespace {

namespace websocket = boost::beast::websocket;
using nlohmann::json;

// Requests read but not yet started, per connection; more are refused.
constexpr std::size_t k_max_in_flight = 64;
// Failed `authenticate` messages before the socket is closed (1008).
constexpr int k_max_failed_auth = 3;

}  // namespace

void WsSession::enqueue(json message) {
    if (!is_ws_request(message)) {
        return push(ws_frame({{"id", ws_request_id(message)},
                              {"ok", false},
                              {"error", Error(ErrorCode::invalid_argument,
                                              R"(a request is {"id":…,"op":"…","args":{…}})")
                                            .to_json()}}));
    }
    if (m_requests.waiting() >= k_max_in_flight) {
        return push(
            ws_frame({{"id", message.value("id", json())},
                      {"ok", false},
                      {"error", Error(ErrorCode::rate_limited,
                                      "more than 64 requests waiting on this connection; wait for "
                                      "answers before sending more")
                                    .to_json()}}));
    }
    m_requests.post(
        [self = shared_from_this(), message = std::move(message)] { self->execute(message); });
}

void WsSession::execute(const json& message) {
    const json id = ws_request_id(message);
    const auto& op = message["op"].get_ref<const std::string&>();
    try {
        const auto request = decode_ws_request(message);
        auto result = run(request.op, request.args);
        push(ws_frame({{"id", id}, {"ok", true}, {"result", std::move(result)}}));
    } catch (const Error& e) {
        push(ws_frame({{"id", id}, {"ok", false}, {"error", e.to_json()}}));
        if (op == "authenticate" && e.code() == ErrorCode::unauthenticated &&
            ++m_failed_auth >= k_max_failed_auth) {
            asio::post(m_ws.get_executor(), [self = shared_from_this()] {
                self->m_hub.closed_by_protocol.fetch_add(1, std::memory_order_relaxed);
                self->close_with(websocket::close_code::policy_error,
                                 "too many failed authentications");
            });
        }
    } catch (const std::exception& e) {
        ws_logger()->error("{} over WebSocket from {}: unexpected failure: {}", op, m_remote,
                           e.what());
        push(ws_frame({{"id", id},
                       {"ok", false},
                       {"error", Error(ErrorCode::internal, "internal error").to_json()}}));
    }
    close_if_withdrawn();
}

json WsSession::run(const std::string& name, const json& args) {
    const auto* op = runtime::op_table().find(name);
    // The ops that present a credential of their own run without one.
    if (op != nullptr && op->websocket_only() && op->before_auth == ops::BeforeAuth::allowed) {
        static const ops::Caller k_anonymous{"anonymous", {}};
        const auto caller = current_caller();
        return run_session_op(*op, args, caller ? *caller : k_anonymous);
    }
    if (!current_caller()) {
        throw Error(ErrorCode::unauthenticated,
                    "authenticate first: {\"op\":\"authenticate\",\"args\":{\"api_key\":…}} "
                    "or an Authorization header on the upgrade",
                    {{"reason", "missing"}});
    }
    // Every op is admitted as an HTTP request would be: the credential
    // verified again, its bans and limits, one use of a counted key. A
    // refusal for the op's permission is dispatch()'s.
    readmit(admission::Door::ws_op, op);
    const auto caller = *current_caller();
    if (op == nullptr) {
        throw Error(ErrorCode::not_found, "unknown op \"" + name + "\"", {{"op", name}});
    }
    if (op->websocket_only()) {
        return run_session_op(*op, args, caller);
    }
    return run_table_op(*op, args, caller);
}

json WsSession::authenticate(const json& args, const ops::Caller&) {
    auto text = ws_credential(args);
    const auto credential = admit_credential(text);
    become(credential, std::move(text));
    return {{"authenticated", true},
            {"actor", credential.caller.actor},
            {"permissions", credential.caller.permissions},
            {"session", m_id}};
}

json WsSession::token_refresh(const json& args, const ops::Caller& caller) {
    // A refresh token is a credential of its own: it may open a socket.
    auto& services = m_hub.services();
    const auto* refresh = runtime::op_table().find("tokens.refresh");
    auto result = runtime::dispatch(services, *refresh, args, caller);
    // A socket opened with an API key keeps it; a JWT one moves on.
    if (caller.key_id.empty() && result.contains("access_token")) {
        auto text = result["access_token"].get<std::string>();
        const auto credential = admit_credential(text);
        become(credential, std::move(text));
    }
    return result;
}

json WsSession::run_table_op(const ops::Op& op, const json& args, const ops::Caller& caller) {
    auto result = runtime::dispatch(m_hub.services(), op, args, caller, ops::NameStyle::field);
    if (op.mutates == ops::Mutates::yes) {
        m_hub.poke();
    }
    return result;
}

}  // namespace pb::daemon::http_detail
