#include "daemon/ws/outbox_tail.hpp"

#include <exception>
#include <pthread.h>

#include "common/core/log.hpp"

namespace pb::daemon::ws {
namespace {

// Announced events waiting for the tail at most (see OutboxTail::offer).
constexpr std::size_t k_max_announced = 10'000;

}  // namespace

OutboxTail::OutboxTail(store::Store& store, std::chrono::milliseconds poll_interval)
    : m_store(store), m_poll_interval(poll_interval) {}

OutboxTail::~OutboxTail() {
    stop();
}

void OutboxTail::start(std::int64_t position, BatchFn on_batch, TickFn on_tick) {
    m_on_batch = std::move(on_batch);
    m_on_tick = std::move(on_tick);
    m_thread = std::thread([this, position] {
        pthread_setname_np(pthread_self(), "pbd-events");
        loop(position);
    });
}

void OutboxTail::stop() {
    {
        std::lock_guard lock(m_mutex);
        m_stop = true;
    }
    m_cv.notify_all();
    if (m_thread.joinable()) {
        m_thread.join();
    }
}

void OutboxTail::poke() {
    {
        std::lock_guard lock(m_mutex);
        m_poked = true;
    }
    m_cv.notify_one();
}

void OutboxTail::offer(const events::Event& event) {
    {
        std::lock_guard lock(m_mutex);
        if (m_offered.size() < k_max_announced) {
            m_offered.push_back(event);
        }
        m_poked = true;
    }
    m_cv.notify_one();
}

void OutboxTail::loop(std::int64_t position) {
    events::Tailer tailer(m_store, position);
    std::vector<events::Event> batch;
    std::vector<events::Event> offered;
    for (;;) {
        {
            std::unique_lock lock(m_mutex);
            m_cv.wait_for(lock, m_poll_interval, [this] { return m_stop || m_poked; });
            if (m_stop) {
                return;
            }
            m_poked = false;
            offered.swap(m_offered);
        }
        batch.clear();
        read_new(tailer, offered, batch);
        if (!batch.empty()) {
            m_on_batch(batch);
        }
        m_on_tick();
    }
}

void OutboxTail::read_new(events::Tailer& tailer, std::vector<events::Event>& offered,
                          std::vector<events::Event>& batch) {
    try {
        for (auto& e : offered) {
            const auto seq = e.seq;
            m_early.emplace(seq, std::move(e));
        }
        offered.clear();
        take_announced(tailer, batch);
        tailer.poll([&](const events::Event& e) { batch.push_back(e); });
        take_announced(tailer, batch);
    } catch (const std::exception& e) {
        // The database may be busy or gone for a moment: the next poll
        // retries from the tailer's position, after what is in `batch`.
        log::get("daemon.ws")->warn("reading the event outbox failed: {}", e.what());
    }
}

void OutboxTail::take_announced(events::Tailer& tailer, std::vector<events::Event>& batch) {
    while (!m_early.empty()) {
        auto it = m_early.begin();
        if (it->first <= tailer.position()) {
            m_early.erase(it);  // read from the outbox already
            continue;
        }
        if (it->first != tailer.position() + 1) {
            break;  // an earlier seq is still to come
        }
        tailer.advance(it->first);
        batch.push_back(std::move(it->second));
        m_early.erase(it);
        m_announced.fetch_add(1, std::memory_order_relaxed);
    }
    if (m_early.size() > k_max_announced) {
        m_early.clear();
    }
}

}  // namespace pb::daemon::ws
