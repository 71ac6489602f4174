#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/events/publisher.hpp"
#include "common/redis/client.hpp"
#include "common/redis/subscriber.hpp"

namespace pb::redis {

// Events over Redis pub/sub, on the channel <prefix>events (and other
// announcements on channels of their own, see send/on_channel). Publishing: every
// event this process commits is queued and sent by a background thread,
// several PUBLISHes per write when they pile up; a failure is counted and
// logged, and changes nothing else (the outbox is the record, and readers
// find the event there). Listening (pbd): every event any process published
// goes to the listeners, and after each (re)subscription the resync
// listeners run, so that what was published while away is read from the
// outbox. Thread-safe.
class EventBus final : public events::Publisher {
  public:
    explicit EventBus(Client& client);
    // Sends what is still queued (waiting at most about redis.timeout), then
    // stops both threads.
    ~EventBus() override;
    EventBus(const EventBus&) = delete;
    EventBus& operator=(const EventBus&) = delete;

    void publish(const events::Event& event) noexcept override;
    // Queues any command to send in the background, in order with events,
    // without waiting for (or reading) its reply: for announcements other
    // than events (pbd's rooms). Failures are counted, never thrown.
    void send(std::vector<std::string> command) noexcept;

    using Listener = std::function<void(const events::Event&)>;
    // Register before listen().
    void on_event(Listener listener);
    void on_resync(std::function<void()> listener);
    // Also listens on `channel` (a full name, prefix included).
    void on_channel(std::string channel, std::function<void(std::string_view payload)> listener);
    // Subscribes in the background and keeps the subscription up.
    void listen();
    // Unsubscribes: no listener runs after it returns.
    void stop_listening();

    const std::string& channel() const { return m_channel; }
    bool listening() const { return m_subscriber && m_subscriber->subscribed(); }

    // Counters for /metrics.
    std::uint64_t published() const { return m_published.load(std::memory_order_relaxed); }
    std::uint64_t publish_failures() const {
        return m_publish_failures.load(std::memory_order_relaxed);
    }
    // Other commands queued with send() that failed.
    std::uint64_t send_failures() const { return m_send_failures.load(std::memory_order_relaxed); }
    std::uint64_t received() const { return m_received.load(std::memory_order_relaxed); }
    std::uint64_t malformed() const { return m_malformed.load(std::memory_order_relaxed); }
    std::uint64_t resyncs() const { return m_subscriber ? m_subscriber->subscriptions() : 0; }

  private:
    struct Queued {
        std::vector<std::string> command;
        bool event = false;  // counted as a published event
    };

    void enqueue(Queued item) noexcept;
    void send_loop();
    void deliver(std::string_view payload);

    Client& m_client;
    const std::string m_channel;

    std::mutex m_mutex;
    std::condition_variable m_cv;
    std::deque<Queued> m_queue;  // guarded by m_mutex
    bool m_stopping = false;     // guarded by m_mutex
    bool m_sending = false;      // a batch is out; guarded by m_mutex
    std::thread m_sender;        // started on the first publish

    std::vector<Listener> m_listeners;
    std::vector<std::function<void()>> m_resync_listeners;
    std::vector<std::pair<std::string, std::function<void(std::string_view)>>> m_channels;
    std::unique_ptr<Subscriber> m_subscriber;

    std::atomic<std::uint64_t> m_published{0};
    std::atomic<std::uint64_t> m_publish_failures{0};
    std::atomic<std::uint64_t> m_send_failures{0};
    std::atomic<std::uint64_t> m_sent{0};
    std::atomic<std::uint64_t> m_received{0};
    std::atomic<std::uint64_t> m_malformed{0};
};

}  // namespace pb::redis
