#include "common/redis/event_bus.hpp"

#include "common/core/log.hpp"
#include "common/events/tailer.hpp"

namespace pb::redis {
namespace {

// PUBLISHes sent in one write at most.
constexpr std::size_t k_batch = 256;
// Events waiting to be sent at most; older ones are dropped (and counted) if
// Redis cannot keep up: their readers find them in the outbox.
constexpr std::size_t k_max_queued = 100'000;

const std::shared_ptr<spdlog::logger>& logger() {
    static const auto l = log::get("redis");
    return l;
}

}  // namespace

EventBus::EventBus(Client& client) : m_client(client), m_channel(client.key("events")) {}

EventBus::~EventBus() {
    stop_listening();
    {
        std::unique_lock lock(m_mutex);
        // A short-lived pbctl commits and exits: give its events a moment to go.
        m_cv.wait_for(lock, m_client.options().connect.command_timeout * 2,
                      [this] { return m_queue.empty() && !m_sending; });
        m_stopping = true;
    }
    m_cv.notify_all();
    if (m_sender.joinable()) {
        m_sender.join();
    }
}

void EventBus::publish(const events::Event& event) noexcept {
    try {
        auto payload =
            events::to_json(event).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        {
            std::lock_guard lock(m_mutex);
            if (m_stopping) {
                return;
            }
            if (m_queue.size() >= k_max_queued) {
                m_queue.pop_front();
                m_publish_failures.fetch_add(1, std::memory_order_relaxed);
            }
            m_queue.push_back(std::move(payload));
            if (!m_sender.joinable()) {
                m_sender = std::thread([this] { send_loop(); });
            }
        }
        m_cv.notify_all();
    } catch (const std::exception& e) {
        m_publish_failures.fetch_add(1, std::memory_order_relaxed);
        logger()->warn("event {} not published: {}", event.seq, e.what());
    }
}

void EventBus::send_loop() {
    std::vector<std::vector<std::string>> batch;
    for (;;) {
        {
            std::unique_lock lock(m_mutex);
            m_sending = false;
            m_cv.notify_all();
            m_cv.wait(lock, [this] { return m_stopping || !m_queue.empty(); });
            if (m_queue.empty()) {
                return;  // stopping, and everything was sent
            }
            batch.clear();
            while (!m_queue.empty() && batch.size() < k_batch) {
                batch.push_back({"PUBLISH", m_channel, std::move(m_queue.front())});
                m_queue.pop_front();
            }
            m_sending = true;
        }
        try {
            const auto replies = m_client.pipeline(batch);
            for (const auto& r : replies) {
                (r.is_error() ? m_publish_failures : m_published)
                    .fetch_add(1, std::memory_order_relaxed);
            }
        } catch (const std::exception&) {
            // The client logs the outage once; the outbox still has the events.
            m_publish_failures.fetch_add(batch.size(), std::memory_order_relaxed);
        }
    }
}

void EventBus::on_event(Listener listener) {
    m_listeners.push_back(std::move(listener));
}

void EventBus::on_resync(std::function<void()> listener) {
    m_resync_listeners.push_back(std::move(listener));
}

void EventBus::deliver(std::string_view payload) {
    const auto j = nlohmann::json::parse(payload, nullptr, false);
    const auto event = events::event_from_json(j);
    if (!event) {
        // Not ours (another program on the channel) or damaged: the outbox is
        // the record, so nothing is lost by skipping it.
        m_malformed.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    m_received.fetch_add(1, std::memory_order_relaxed);
    for (const auto& l : m_listeners) {
        try {
            l(*event);
        } catch (const std::exception& e) {
            logger()->warn("event {} from redis not applied: {}", event->seq, e.what());
        }
    }
}

void EventBus::listen() {
    m_subscriber = std::make_unique<Subscriber>(
        m_client, std::vector<std::string>{m_channel},
        [this](std::string_view, std::string_view payload) { deliver(payload); },
        [this] {
            for (const auto& l : m_resync_listeners) {
                try {
                    l();
                } catch (const std::exception& e) {
                    logger()->warn("reloading after a resubscription failed: {}", e.what());
                }
            }
        });
    m_subscriber->start();
}

void EventBus::stop_listening() {
    if (m_subscriber) {
        m_subscriber->stop();
    }
}

}  // namespace pb::redis
