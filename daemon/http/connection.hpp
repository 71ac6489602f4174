#pragma once
// Private to the HTTP server (Boost.Asio and Boost.Beast).

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include "common/admission/credential.hpp"
#include "common/core/error.hpp"
#include "daemon/http/request.hpp"
#include "daemon/http/request_parser.hpp"
#include "daemon/http/server_state.hpp"

namespace pb::daemon::http_detail {

// One keep-alive HTTP/1.1 connection: Beast parses a request, the Router
// answers it, Asio writes the answer; repeat. A request for /ws hands the
// socket to a WebSocket session. With Redis, a request's limit checks are made
// first without blocking the thread (Router::plan, limits::check_ahead through
// the worker's RedisPipe), then it is answered.
//
// Idle and slow peers are cut off by one timer per connection that is armed
// rarely: each read or write only moves the deadline forward, and the timer,
// when it fires, either closes the connection or sleeps until the new deadline.
// Lives in a shared_ptr held by its pending operations; every method runs on
// its worker's thread.
class Connection final : public std::enable_shared_from_this<Connection> {
  public:
    // An overloaded connection is answered 503 and closed.
    Connection(ServerState& server, Worker& worker, Socket socket, Load load);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // Starts reading requests.
    void start();
    // The server is stopping: a connection waiting for its next request is
    // closed now; one with a request under way closes after answering it.
    void drain();
    void close();

  private:
    using Clock = std::chrono::steady_clock;
    using Timer =
        boost::asio::basic_waitable_timer<Clock, boost::asio::wait_traits<Clock>, Executor>;
    using error_code = boost::system::error_code;

    void touch();
    void wait_for_deadline();
    void read_header();
    void on_header(error_code ec);
    void read_body();
    void on_read_error(error_code ec);
    // The parsed request as the router sees it.
    Request& request();
    // A whole request has arrived: upgrade, check limits ahead, or respond.
    void answer();
    void respond();
    // Answers with an error and closes: what is left of the request is not read.
    void refuse(int status, ErrorCode code, const std::string& message);
    void write(bool keep_alive);
    // Closes after the peer has read the answer: stop sending, then drain its
    // input for a moment so the close does not turn into a reset.
    void linger();
    void linger_read();

    ServerState& m_server;
    Worker& m_worker;
    Socket m_socket;
    Timer m_timer;
    Clock::time_point m_deadline;
    boost::beast::flat_buffer m_buffer;
    RequestData m_data;
    std::optional<RequestParser> m_parser;
    std::vector<Header> m_headers;
    Request m_request;
    // Verified while the limits were checked ahead (Router::plan).
    std::optional<admission::Credential> m_caller;
    Response m_response;
    std::string m_head;
    std::string m_remote;
    std::size_t m_lingered = 0;
    const bool m_overloaded;
    bool m_idle = false;
    bool m_closed = false;
};

}  // namespace pb::daemon::http_detail
