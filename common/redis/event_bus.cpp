#include "common/redis/event_bus.hpp"

#include "common/core/json_parse.hpp"
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
        enqueue({{"PUBLISH", m_channel, std::move(payload)}, true});
    } catch (const std::exception& e) {
        m_publish_failures.fetch_add(1, std::memory_order_relaxed);
        logger()->warn("event {} not published: {}", event.seq, e.what());
    }
}

void EventBus::send(std::vector<std::string> command) noexcept {
    enqueue({std::move(command), false});
}

void EventBus::enqueue(Queued item) noexcept {
    try {
        {
            std::lock_guard lock(m_mutex);
            if (m_stopping) {
                return;
            }
            if (m_queue.size() >= k_max_queued) {
                (m_queue.front().event ? m_publish_failures : m_send_failures)
                    .fetch_add(1, std::memory_order_relaxed);
                m_queue.pop_front();
            }
            m_queue.push_back(std::move(item));
            if (!m_sender.joinable()) {
                m_sender = std::thread([this] { send_loop(); });
            }
        }
        m_cv.notify_all();
    } catch (const std::exception& e) {
        (item.event ? m_publish_failures : m_send_failures).fetch_add(1, std::memory_order_relaxed);
        logger()->warn("redis command not queued: {}", e.what());
    }
}

void EventBus::send_loop() {
    std::vector<std::vector<std::string>> batch;
    std::vector<bool> is_event;
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
            is_event.clear();
            while (!m_queue.empty() && batch.size() < k_batch) {
                batch.push_back(std::move(m_queue.front().command));
                is_event.push_back(m_queue.front().event);
                m_queue.pop_front();
            }
            m_sending = true;
        }
        const auto count = [&](std::size_t i, bool ok) {
            auto& counter = is_event[i] ? (ok ? m_published : m_publish_failures)
                                        : (ok ? m_sent : m_send_failures);
            counter.fetch_add(1, std::memory_order_relaxed);
        };
        try {
            const auto replies = m_client.pipeline(batch);
            for (std::size_t i = 0; i < replies.size(); ++i) {
                count(i, !replies[i].is_error());
            }
        } catch (const std::exception&) {
            // The client logs the outage once; the outbox still has the events.
            for (std::size_t i = 0; i < batch.size(); ++i) {
                count(i, false);
            }
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
    const auto j = parse_json_or_discarded(payload, {k_max_stored_json_depth});
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

void EventBus::on_channel(std::string channel,
                          std::function<void(std::string_view payload)> listener) {
    m_channels.emplace_back(std::move(channel), std::move(listener));
}

void EventBus::listen() {
    std::vector<std::string> channels{m_channel};
    for (const auto& [name, listener] : m_channels) {
        channels.push_back(name);
    }
    m_subscriber = std::make_unique<Subscriber>(
        m_client, std::move(channels),
        [this](std::string_view channel, std::string_view payload) {
            if (channel == m_channel) {
                deliver(payload);
                return;
            }
            for (const auto& [name, listener] : m_channels) {
                if (name == channel) {
                    try {
                        listener(payload);
                    } catch (const std::exception& e) {
                        logger()->warn("a message on {} was not applied: {}", name, e.what());
                    }
                }
            }
        },
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
