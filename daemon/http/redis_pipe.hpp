#pragma once
// Private to the HTTP server (Boost.Asio).

#include <array>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/limits/ahead.hpp"
#include "common/redis/client.hpp"
#include "common/redis/resp.hpp"

namespace pb::daemon::http_detail {

// One worker thread's own connection to Redis, driven by its io_context: a
// request that needs a Redis check sends it and goes on when the answer
// comes, so the thread serves other connections meanwhile, and the checks of
// every request that arrived together leave in one write (pipelining). Any
// trouble (not connected yet, a timeout, a lost connection, an error reply
// such as NOSCRIPT) answers "no answer": the caller then takes the blocking
// path, which has the reconnect logic, the script loading and the failure
// policy. The transport of limits::check_ahead: what is sent and how the
// replies are read are common/limits' business. Used only from its
// io_context's thread.
class RedisPipe final : public limits::ScriptChannel {
  public:
    // `client` (whose settings it uses, and whose up/down state and error
    // count it shares) must outlive the pipe. The address is resolved here, once.
    RedisPipe(boost::asio::io_context& ioc, redis::Client& client);
    ~RedisPipe();
    RedisPipe(const RedisPipe&) = delete;
    RedisPipe& operator=(const RedisPipe&) = delete;

    // True when Redis is reachable over TCP (a Unix socket is left to the
    // blocking path).
    bool usable() const { return m_usable; }

    // Queues one check of `script` on `key` with `args` (a script that
    // takes a batch as the GCRA script does: one key per check, each check's
    // argument group number, then the groups). Checks sharing `args` (every
    // address check) share one group.  The checks
    // queued while the io thread is busy go out as one EVALSHA. `done` runs
    // on the io thread, never inside this call.
    void check(const redis::Script& script, std::string key,
               std::shared_ptr<const std::vector<std::string>> args, Callback done) override;

  private:
    enum class State { closed, connecting, open };
    struct Pending {
        std::vector<Callback> checks;  // empty for the login's own replies
        std::chrono::steady_clock::time_point sent;
    };

    void connect();
    // Encodes the queued checks as one EVALSHA.
    void seal_batch();
    void flush();
    // Writes after the handlers ready now have queued theirs: one write for all.
    void flush_soon();
    void read();
    void arm_timer();
    // Answers every pending request with "no answer", closes, backs off.
    void fail();

    boost::asio::io_context& m_ioc;
    redis::Client& m_client;
    const redis::ClientOptions& m_options;
    boost::asio::ip::tcp::endpoint m_endpoint;
    bool m_usable = false;
    State m_state = State::closed;
    boost::asio::ip::tcp::socket m_socket;
    boost::asio::steady_timer m_timer;
    bool m_timer_armed = false;
    std::chrono::steady_clock::time_point m_retry_at{};
    std::chrono::steady_clock::time_point m_connect_started{};
    std::chrono::milliseconds m_backoff{0};
    std::string m_out;      // encoded, not yet written
    std::string m_writing;  // being written
    bool m_write_busy = false;
    bool m_flush_posted = false;
    std::deque<Pending> m_pending;  // in the order of their replies
    const redis::Script* m_batch_script = nullptr;
    std::vector<std::string> m_batch_keys;
    std::vector<std::string> m_batch_group_of;  // per check, its group's number
    std::vector<std::shared_ptr<const std::vector<std::string>>> m_batch_groups;
    std::vector<Callback> m_batch;
    std::unique_ptr<redis::ReplyReader> m_reader;
    std::vector<char> m_in;
    // Bumped by fail(): completions of an older connection are ignored.
    std::uint64_t m_generation = 0;
};

}  // namespace pb::daemon::http_detail
