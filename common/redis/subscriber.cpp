#include "common/redis/subscriber.hpp"

#include <chrono>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/core/error.hpp"
#include "common/core/log.hpp"

namespace pb::redis {
namespace {

using Clock = std::chrono::steady_clock;

// A connection quiet this long gets a PING; one that does not answer it within
// as long again is taken for dead.
constexpr auto k_ping_after = std::chrono::seconds(5);
constexpr int k_backoff_min_ms = 100;

const std::shared_ptr<spdlog::logger>& logger() {
    static const auto l = log::get("redis");
    return l;
}

}  // namespace

Subscriber::Subscriber(Client& client, std::vector<std::string> channels, OnMessage on_message,
                       OnSubscribed on_subscribed)
    : m_client(client),
      m_channels(std::move(channels)),
      m_on_message(std::move(on_message)),
      m_on_subscribed(std::move(on_subscribed)),
      m_wake_fd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    if (m_wake_fd < 0) {
        throw Error(ErrorCode::internal, "cannot create an eventfd for the redis subscriber");
    }
}

Subscriber::~Subscriber() {
    stop();
    ::close(m_wake_fd);
}

void Subscriber::start() {
    m_thread = std::thread([this] { run(); });
}

void Subscriber::stop() {
    m_stopping = true;
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(m_wake_fd, &one, sizeof one);
    if (m_thread.joinable()) {
        m_thread.join();
    }
}

bool Subscriber::pause(int ms) {
    pollfd p{.fd = m_wake_fd, .events = POLLIN, .revents = 0};
    ::poll(&p, 1, ms);
    return !m_stopping;
}

void Subscriber::run() {
    int backoff_ms = 0;
    const int backoff_max_ms = static_cast<int>(m_client.options().backoff_max.count());
    while (!m_stopping) {
        try {
            listen();
            backoff_ms = 0;
        } catch (const std::exception& e) {
            m_subscribed = false;
            if (m_stopping) {
                break;
            }
            backoff_ms =
                backoff_ms == 0 ? k_backoff_min_ms : std::min(backoff_ms * 2, backoff_max_ms);
            logger()->warn("redis subscription lost: {}; resubscribing in {} ms", e.what(),
                           backoff_ms);
            if (!pause(backoff_ms)) {
                break;
            }
        }
    }
    m_subscribed = false;
}

void Subscriber::listen() {
    auto c = m_client.connect();
    std::vector<std::string_view> args{"SUBSCRIBE"};
    args.insert(args.end(), m_channels.begin(), m_channels.end());
    c->append(args);
    c->flush();
    std::size_t confirmed = 0;
    auto last_heard = Clock::now();
    bool ping_sent = false;
    Reply reply;
    while (!m_stopping) {
        while (c->buffered(reply)) {
            last_heard = Clock::now();
            ping_sent = false;
            if (reply.type != Reply::Type::array || reply.elements.empty()) {
                if (reply.is_error()) {
                    throw Error(ErrorCode::unavailable, "redis refused SUBSCRIBE: " + reply.str);
                }
                continue;
            }
            const auto& kind = reply.elements[0].str;
            if (kind == "message" && reply.elements.size() == 3) {
                m_messages.fetch_add(1, std::memory_order_relaxed);
                m_on_message(reply.elements[1].str, reply.elements[2].str);
            } else if (kind == "subscribe" && ++confirmed == m_channels.size()) {
                m_subscribed = true;
                if (m_subscriptions.fetch_add(1, std::memory_order_relaxed) > 0) {
                    logger()->info("redis subscription to {} restored", m_client.location());
                }
                m_on_subscribed();
            }
        }
        pollfd fds[2] = {{.fd = c->fd(), .events = POLLIN, .revents = 0},
                         {.fd = m_wake_fd, .events = POLLIN, .revents = 0}};
        const int ready = ::poll(fds, 2, 1000);
        if (m_stopping) {
            return;
        }
        if (ready > 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
            c->receive();
            continue;
        }
        const auto quiet = Clock::now() - last_heard;
        if (ping_sent && quiet > 2 * k_ping_after) {
            throw Error(ErrorCode::unavailable,
                        "redis at " + m_client.location() + " did not answer a PING");
        }
        if (!ping_sent && quiet > k_ping_after) {
            const std::string_view ping[] = {"PING"};
            c->append(ping);
            c->flush();
            ping_sent = true;
        }
    }
}

}  // namespace pb::redis
