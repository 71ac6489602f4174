#include "daemon/http/redis_pipe.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "common/core/error.hpp"
#include "common/core/log.hpp"

namespace pb::daemon::http_detail {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using Clock = std::chrono::steady_clock;

constexpr std::chrono::milliseconds k_backoff_min{100};

}  // namespace

RedisPipe::RedisPipe(asio::io_context& ioc, redis::Client& client)
    : m_ioc(ioc),
      m_client(client),
      m_options(client.options()),
      m_socket(ioc),
      m_timer(ioc),
      m_reader(std::make_unique<redis::ReplyReader>()),
      m_in(64 * 1024) {
    const auto& url = m_options.connect.url;
    if (!url.socket_path.empty()) {
        return;
    }
    try {
        tcp::resolver resolver(ioc);
        const auto found =
            resolver.resolve(url.host, std::to_string(url.port), tcp::resolver::numeric_service);
        if (!found.empty()) {
            m_endpoint = found.begin()->endpoint();
            m_usable = true;
        }
    } catch (const boost::system::system_error& e) {
        log::get("redis")->info(
            "redis host {} not resolved for the HTTP workers ({}); their checks block instead",
            url.host, e.code().message());
    }
}

RedisPipe::~RedisPipe() {
    error_code ec;
    m_socket.close(ec);
    m_timer.cancel();
}

void RedisPipe::check(const redis::Script& script, std::string key,
                      std::shared_ptr<const std::vector<std::string>> args, Callback done) {
    if (!m_usable || (m_state == State::closed && Clock::now() < m_retry_at)) {
        asio::post(m_ioc, [done = std::move(done)] { done(nullptr, 0); });
        return;
    }
    if (m_batch_script != nullptr && m_batch_script != &script) {
        seal_batch();
    }
    m_batch_script = &script;
    m_batch_keys.push_back(std::move(key));
    std::size_t group = 0;
    while (group < m_batch_groups.size() && m_batch_groups[group] != args) {
        ++group;
    }
    if (group == m_batch_groups.size()) {
        m_batch_groups.push_back(std::move(args));
    }
    m_batch_group_of.push_back(std::to_string(group));
    m_batch.push_back(std::move(done));
    if (m_state == State::closed) {
        connect();
    } else if (m_state == State::open) {
        flush_soon();
    }
}

void RedisPipe::seal_batch() {
    if (m_batch.empty()) {
        return;
    }
    const auto nkeys = std::to_string(m_batch_keys.size());
    std::vector<std::string_view> argv{"EVALSHA", m_batch_script->sha(), nkeys};
    argv.insert(argv.end(), m_batch_keys.begin(), m_batch_keys.end());
    argv.insert(argv.end(), m_batch_group_of.begin(), m_batch_group_of.end());
    for (const auto& args : m_batch_groups) {
        argv.insert(argv.end(), args->begin(), args->end());
    }
    redis::encode_command(argv, m_out);
    m_pending.push_back({std::move(m_batch), Clock::now()});
    m_batch.clear();
    m_batch_keys.clear();
    m_batch_group_of.clear();
    m_batch_groups.clear();
    m_batch_script = nullptr;
    arm_timer();
}

void RedisPipe::connect() {
    m_state = State::connecting;
    m_connect_started = Clock::now();
    // The login goes first, ahead of everything queued; its replies are
    // checked by entries without callbacks.
    std::string login;
    std::deque<Pending> login_pending;
    const auto& url = m_options.connect.url;
    if (!url.password.empty()) {
        std::vector<std::string_view> auth{"AUTH"};
        if (!url.user.empty()) {
            auth.emplace_back(url.user);
        }
        auth.emplace_back(url.password);
        redis::encode_command(auth, login);
        login_pending.push_back({{}, Clock::now()});
    }
    if (url.db != 0) {
        const auto db = std::to_string(url.db);
        const std::string_view select[] = {"SELECT", db};
        redis::encode_command(select, login);
        login_pending.push_back({{}, Clock::now()});
    }
    m_out.insert(0, login);
    m_pending.insert(m_pending.begin(), login_pending.begin(), login_pending.end());
    arm_timer();
    const auto generation = m_generation;
    m_socket.async_connect(m_endpoint, [this, generation](error_code ec) {
        if (generation != m_generation) {
            return;
        }
        if (ec) {
            return fail();
        }
        m_socket.set_option(tcp::no_delay(true));
        m_state = State::open;
        m_backoff = std::chrono::milliseconds(0);
        read();
        flush();
    });
}

void RedisPipe::flush_soon() {
    if (m_flush_posted) {
        return;
    }
    m_flush_posted = true;
    asio::post(m_ioc, [this, generation = m_generation] {
        m_flush_posted = false;
        if (generation == m_generation && m_state == State::open) {
            flush();
        }
    });
}

void RedisPipe::flush() {
    seal_batch();
    if (m_write_busy || m_out.empty()) {
        return;
    }
    m_write_busy = true;
    m_writing.swap(m_out);
    m_out.clear();
    const auto generation = m_generation;
    asio::async_write(m_socket, asio::buffer(m_writing),
                      [this, generation](error_code ec, std::size_t) {
                          if (generation != m_generation) {
                              return;
                          }
                          m_write_busy = false;
                          if (ec) {
                              return fail();
                          }
                          flush();
                      });
}

void RedisPipe::read() {
    const auto generation = m_generation;
    m_socket.async_read_some(asio::buffer(m_in), [this, generation](error_code ec, std::size_t n) {
        if (generation != m_generation) {
            return;
        }
        if (ec) {
            return fail();
        }
        try {
            m_reader->feed(m_in.data(), n);
            redis::Reply reply;
            while (m_reader->next(reply)) {
                if (m_pending.empty()) {
                    return fail();  // a reply nobody asked for: lost track
                }
                auto checks = std::move(m_pending.front().checks);
                m_pending.pop_front();
                if (checks.empty()) {
                    if (reply.is_error()) {
                        return fail();  // the login was refused
                    }
                    continue;
                }
                // An error reply (NOSCRIPT after a Redis restart, …) is
                // left to the blocking path.
                const bool usable = !reply.is_error();
                m_client.note_success();
                for (std::size_t i = 0; i < checks.size(); ++i) {
                    checks[i](usable ? &reply : nullptr, i);
                }
                if (generation != m_generation) {
                    return;
                }
            }
        } catch (const std::exception&) {
            return fail();
        }
        read();
    });
}

void RedisPipe::arm_timer() {
    if (m_timer_armed || (m_pending.empty() && m_state != State::connecting)) {
        return;
    }
    m_timer_armed = true;
    m_timer.expires_after(m_options.connect.command_timeout / 2);
    m_timer.async_wait([this](error_code ec) {
        m_timer_armed = false;
        if (ec) {
            return;
        }
        const auto now = Clock::now();
        if ((m_state == State::connecting &&
             now - m_connect_started > m_options.connect.connect_timeout) ||
            (!m_pending.empty() &&
             now - m_pending.front().sent > m_options.connect.command_timeout)) {
            return fail();
        }
        arm_timer();
    });
}

void RedisPipe::fail() {
    m_client.note_failure(
        Error(ErrorCode::unavailable,
              "redis at " + m_client.location() + ": a worker's connection failed or timed out"));
    ++m_generation;
    error_code ec;
    m_socket.close(ec);
    m_socket = tcp::socket(m_ioc);
    m_state = State::closed;
    m_write_busy = false;
    m_out.clear();
    m_writing.clear();
    m_reader = std::make_unique<redis::ReplyReader>();
    m_backoff =
        m_backoff.count() == 0 ? k_backoff_min : std::min(m_backoff * 2, m_options.backoff_max);
    m_retry_at = Clock::now() + m_backoff;
    auto pending = std::move(m_pending);
    m_pending.clear();
    pending.push_back({std::move(m_batch), Clock::now()});
    m_batch.clear();
    m_batch_keys.clear();
    m_batch_group_of.clear();
    m_batch_groups.clear();
    m_batch_script = nullptr;
    for (auto& p : pending) {
        for (auto& done : p.checks) {
            asio::post(m_ioc, [done = std::move(done)] { done(nullptr, 0); });
        }
    }
}

}  // namespace pb::daemon::http_detail
