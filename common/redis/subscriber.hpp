#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/redis/client.hpp"

namespace pb::redis {

// Listens on Redis pub/sub channels on a connection of its own, in a thread
// of its own, and keeps listening: a lost connection is reopened with
// exponential backoff (up to redis.* backoff_max), and a quiet one is pinged so
// that a half-open TCP connection is noticed. Pub/sub delivers only to those
// listening, so `on_subscribed` runs after every (re)subscription: the owner
// reloads there whatever may have been published while it was away.
class Subscriber {
  public:
    using OnMessage = std::function<void(std::string_view channel, std::string_view payload)>;
    using OnSubscribed = std::function<void()>;

    Subscriber(Client& client, std::vector<std::string> channels, OnMessage on_message,
               OnSubscribed on_subscribed);
    ~Subscriber();
    Subscriber(const Subscriber&) = delete;
    Subscriber& operator=(const Subscriber&) = delete;

    void start();
    // Returns once the thread has ended; callbacks do not run after it.
    void stop();

    bool subscribed() const { return m_subscribed.load(std::memory_order_relaxed); }
    std::uint64_t messages() const { return m_messages.load(std::memory_order_relaxed); }
    // Subscriptions made, the first one included.
    std::uint64_t subscriptions() const { return m_subscriptions.load(std::memory_order_relaxed); }

  private:
    void run();
    // One connection's life: subscribes, then reads until it fails or stop().
    void listen();
    // Waits up to `ms` or until stop(); false once stopping.
    bool pause(int ms);

    Client& m_client;
    const std::vector<std::string> m_channels;
    const OnMessage m_on_message;
    const OnSubscribed m_on_subscribed;
    int m_wake_fd = -1;  // an eventfd: stop() writes, the thread polls it
    std::atomic<bool> m_stopping{false};
    std::atomic<bool> m_subscribed{false};
    std::atomic<std::uint64_t> m_messages{0};
    std::atomic<std::uint64_t> m_subscriptions{0};
    std::thread m_thread;
};

}  // namespace pb::redis
