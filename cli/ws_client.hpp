#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pb::cli {

using WsClock = std::chrono::steady_clock;

// One thread's event loop for WebSocket clients. Several clients may share
// one (the benchmark holds a thousand sockets on one thread); a client made
// without one owns its own. Not thread-safe: one thread runs a loop and uses
// its clients.
class WsLoop {
  public:
    WsLoop();
    ~WsLoop();
    WsLoop(const WsLoop&) = delete;
    WsLoop& operator=(const WsLoop&) = delete;

    // Runs the clients' I/O (their reads, Beast's answers to pings and
    // closes) until `done()` is true, or until `deadline`: false then.
    bool run_until(const std::function<bool()>& done, WsClock::time_point deadline);

    // Messages received so far by all the loop's clients (a cheap "has every
    // subscriber got its event yet" for the benchmark).
    std::uint64_t messages_received() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
    friend class WsClient;
};

// Where a WsClient connects and what its upgrade request carries.
struct WsTarget {
    std::string host;
    std::string port;
    std::string path = "/ws";
    // Set on the upgrade request as given (Authorization, X-API-Key, User-Agent, …).
    std::vector<std::pair<std::string, std::string>> headers;
    // The largest message read; 0 keeps Beast's default (16 MiB).
    std::size_t max_message = 0;
};

// How the connection and upgrade went.
struct WsUpgrade {
    bool ok = false;
    // The server answered the upgrade with another HTTP status than 101.
    bool declined = false;
    int status = 0;     // the server's HTTP status (101 when accepted), 0 without an answer
    std::string body;   // the body of the server's answer (its error, when declined)
    std::string error;  // when !ok: why, in words ("timed out connecting", a socket error)
};

// One message read, or how reading ended.
struct WsMessage {
    enum class Kind { text, binary, closed, timed_out };
    Kind kind = Kind::timed_out;
    std::string payload;
    // When closed: the peer's close code and reason (0 and empty without a
    // close frame); `error` is empty when the peer closed with a close frame,
    // else what ended the connection instead (reset, aborted by close(), …).
    int close_code = 0;
    std::string close_reason;
    std::string error;
    WsClock::time_point received_at{};  // when the message arrived (not when read)
};

// A WebSocket client over Boost.Beast, which stays inside ws_client.cpp:
// pbctl's streaming commands, the daemon tests and the WebSocket benchmark
// all use this one. Blocking calls with deadlines; from the upgrade on, a
// read is always pending while the loop runs (so Beast answers pings and
// closes), and messages wait in arrival order for read().
class WsClient {
  public:
    // Connects and upgrades within `deadline`, on its own loop or on
    // `loop` (which must outlive the client); upgrade() tells how it went.
    // Throws nothing for an unreachable or refusing server.
    WsClient(const WsTarget& target, WsClock::time_point deadline);
    WsClient(WsLoop& loop, const WsTarget& target, WsClock::time_point deadline);
    ~WsClient();
    WsClient(const WsClient&) = delete;
    WsClient& operator=(const WsClient&) = delete;

    const WsUpgrade& upgrade() const { return m_upgrade; }

    // Upgraded and not closed yet (as far as the loop has run).
    bool is_open() const;

    // Writes one text or binary message, blocking; "" when written, else why
    // not (the connection is gone).
    std::string send_text(std::string_view text);
    std::string send_binary(std::string_view bytes);
    // Writes bytes to the TCP stream as they are (tests forge bad frames).
    std::string send_raw(std::string_view bytes);

    // The oldest message not read yet, running the loop until one arrives or
    // `deadline` passes (kind timed_out, the read stays pending). Once the
    // connection ended and every message was read: how it ended (closed),
    // on every call.
    WsMessage read(WsClock::time_point deadline);

    // Messages received and not read yet.
    std::size_t waiting() const;

    // Closes the socket at once, without a close handshake; stops reading.
    void close();

  private:
    struct State;
    void connect(const WsTarget& target, WsClock::time_point deadline);

    std::unique_ptr<WsLoop> m_own_loop;
    WsLoop* m_loop;
    // Shared with the pending I/O's handlers, which may outlive this object
    // on a shared loop.
    std::shared_ptr<State> m_state;
    WsUpgrade m_upgrade;
};

}  // namespace pb::cli
