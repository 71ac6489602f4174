#pragma once
// One WebSocket connection. Private to the HTTP connection (which hands its
// socket over on an upgrade) and daemon/ws/session*.cpp (Boost.Asio and
// Boost.Beast types).

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <nlohmann/json.hpp>

#include "common/admission/pipeline.hpp"
#include "common/core/clock.hpp"
#include "common/keys/service.hpp"
#include "common/limits/cidr.hpp"
#include "common/ops/op.hpp"
#include "common/ops/registry.hpp"
#include "daemon/http/request.hpp"
#include "daemon/http/server_state.hpp"
#include "daemon/ws/op_pool.hpp"
#include "daemon/ws/sink.hpp"

namespace pb::daemon {
class WsHub;
}
namespace spdlog {
class logger;
}

namespace pb::daemon::http_detail {

// The WebSocket side's logger ("daemon.ws").
const std::shared_ptr<spdlog::logger>& ws_logger();

// True when `request` asks for a WebSocket (a GET with Upgrade: websocket).
bool wants_websocket(const Request& request);

// Takes over `socket`, whose HTTP request `request` asked for the upgrade:
// admits the client (bans, rate limits, a credential in the headers), answers
// the handshake and serves the WebSocket protocol (see WsSession) on the
// socket's worker thread, with ops on the hub's pool. Runs on the worker's thread.
void serve_websocket(ServerState& server, Socket socket, const Request& request);

// One WebSocket connection: the socket (Beast frames, on its worker's
// thread), the JSON requests (one at a time and in order, on the hub's pool),
// the credential (admitted again for every op and re-checked when an event
// or its expiry may have withdrawn it: closed with 1008 then), and a bounded
// queue of outgoing frames (a client that falls behind ws.max_queue is
// dropped). Created by serve_websocket(); lives as long as a handler holds it.
class WsSession final : public WsSink, public std::enable_shared_from_this<WsSession> {
  public:
    WsSession(ServerState& server, Socket socket, const Request& request);
    ~WsSession() override;
    WsSession(const WsSession&) = delete;
    WsSession& operator=(const WsSession&) = delete;

    // Attaches to the hub and admits the client on the pool. Runs on the worker's thread.
    void start();

    // Error(internal) unless every WebSocket op of `table`
    // (ops::ServedOn::websocket) has a handler here and every handler here is
    // such an op: pbd checks at start (session_table.cpp).
    static void check_bindings(const ops::OpTable& table);

    // WsSink: thread-safe, never block.
    void push(WsFrame text) override;
    std::uint64_t queued_bytes() const override;
    void drop_slow() override;
    void going_away() override;
    void recheck() override;

  private:
    using Timer =
        asio::basic_waitable_timer<std::chrono::steady_clock,
                                   asio::wait_traits<std::chrono::steady_clock>, Executor>;

    // The credential (session_credential.cpp). On the pool unless noted.
    Request request_view();
    void admit();
    admission::Credential admit_credential(const std::string& text);
    void become(const admission::Credential& credential, std::string text);
    std::optional<UnixMillis> token_valid_until(std::string_view token);
    void arm_expiry(std::optional<UnixMillis> until);  // on the executor
    void readmit(admission::Door door, const ops::Op* op = nullptr);
    void withdraw(const std::string& text, const std::string& reason);
    void close_if_withdrawn();
    void revalidate();
    std::optional<ops::Caller> current_caller();

    // The socket (session_io.cpp). On the executor.
    // `headers`: more header lines, each "\r\nName: value" (RateLimit fields).
    void refuse(int status, const std::string& body, const std::string& headers = {});
    void accept();
    void arm_auth_timer();
    void read();
    void on_read(boost::system::error_code ec);
    void flush();
    void on_written(boost::system::error_code ec);
    void close_with(boost::beast::websocket::close_code code, std::string_view reason);
    void send_close();
    void on_slow();
    void hard_close();
    void finish();

    // The requests (session_ops.cpp): enqueue() on the executor, the rest on the pool.
    void enqueue(nlohmann::json message);
    void execute(const nlohmann::json& message);
    nlohmann::json run(const std::string& op, const nlohmann::json& args);
    nlohmann::json run_table_op(const ops::Op& op, const nlohmann::json& args,
                                const ops::Caller& caller);

    // The table's WebSocket ops, each bound by name to a handler of the
    // session (session_table.cpp) and run through runtime::dispatch() as any
    // op is: the table's permission, validate_args, then the handler with
    // the validated args. On the pool.
    using SessionOp = nlohmann::json (WsSession::*)(const nlohmann::json& args,
                                                    const ops::Caller& caller);
    static const std::map<std::string_view, SessionOp>& handlers();
    nlohmann::json run_session_op(const ops::Op& op, const nlohmann::json& args,
                                  const ops::Caller& caller);
    // The credential's (session_ops.cpp).
    nlohmann::json authenticate(const nlohmann::json& args, const ops::Caller& caller);
    nlohmann::json token_refresh(const nlohmann::json& args, const ops::Caller& caller);
    // The hub's: subscriptions and rooms (session_subscriptions.cpp).
    nlohmann::json subscribe(const nlohmann::json& args, const ops::Caller& caller);
    nlohmann::json unsubscribe(const nlohmann::json& args, const ops::Caller& caller);
    nlohmann::json join_room(const nlohmann::json& args, const ops::Caller& caller);
    nlohmann::json leave_room(const nlohmann::json& args, const ops::Caller& caller);
    nlohmann::json room_message(const nlohmann::json& args, const ops::Caller& caller);
    nlohmann::json get_room_info(const nlohmann::json& args, const ops::Caller& caller);
    void check_topic_permissions(const ops::Caller& caller, const nlohmann::json& args);

    ServerState& m_server;
    WsHub& m_hub;
    boost::beast::websocket::stream<Socket> m_ws;
    Timer m_auth_timer;
    Timer m_expiry_timer;  // the executor's: re-checks the credential when it expires
    boost::beast::flat_buffer m_in;
    std::string m_target;
    std::string m_remote;
    std::vector<std::pair<std::string, std::string>> m_fields;
    std::vector<Header> m_headers;
    std::uint64_t m_id = 0;

    // The credential (its text, who it was when last admitted) and whether
    // it was withdrawn: requests and re-checks (pool jobs) both touch them.
    std::mutex m_cred_mutex;
    std::optional<ops::Caller> m_caller;
    std::string m_credential;
    std::optional<std::string> m_withdrawn;
    std::atomic<bool> m_recheck_queued{false};

    // Touched by one pool job at a time (requests run in order).
    std::optional<limits::IpAddress> m_client;
    int m_failed_auth = 0;
    std::atomic<bool> m_authenticated{false};

    // The requests: one at a time, in order, on the hub's pool.
    ws::OpPool::Strand m_requests;

    // The worker thread's.
    bool m_writing = false;
    bool m_closing = false;
    bool m_close_sent = false;
    bool m_finished_io = false;
    boost::beast::websocket::close_reason m_close_reason;
    WsFrame m_current;

    // Frames waiting to be written, from any thread.
    mutable std::mutex m_out_mutex;
    std::deque<WsFrame> m_out;
    std::uint64_t m_out_bytes = 0;
    bool m_flushing = false;
    bool m_overflowed = false;
    bool m_finished = false;
};

}  // namespace pb::daemon::http_detail
