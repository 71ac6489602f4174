#include "common/events/follower.hpp"

namespace pb::events {

Follower::Follower(store::Store& store) : m_store(store) {
    m_applied_token = m_store.change_token();
    m_last_seq = m_store.transaction([](store::Connection& c) { return latest_seq(c); },
                                     store::TxMode::read);
}

void Follower::on(std::string topic_prefix, Listener listener) {
    std::lock_guard lock(m_mutex);
    m_listeners.emplace_back(std::move(topic_prefix), std::move(listener));
}

void Follower::catch_up() {
    // The token is read before the outbox, so a commit racing with the read
    // leaves the token unapplied and the next call reads again. A thread that
    // sees the same new token waits on the mutex until it has been applied.
    const auto token = m_store.change_token();
    if (token == m_applied_token.load(std::memory_order_acquire)) {
        return;
    }
    std::lock_guard lock(m_mutex);
    if (token == m_applied_token.load(std::memory_order_acquire)) {
        return;
    }
    constexpr int k_batch = 1000;
    for (;;) {
        const auto batch = m_store.transaction(
            [&](store::Connection& c) { return read_after(c, m_last_seq, k_batch); },
            store::TxMode::read);
        for (const auto& e : batch) {
            for (const auto& [prefix, listener] : m_listeners) {
                if (e.topic.starts_with(prefix)) {
                    listener(e);
                }
            }
            m_last_seq = e.seq;
        }
        if (batch.size() < k_batch) {
            break;
        }
    }
    m_applied_token.store(token, std::memory_order_release);
}

std::int64_t Follower::last_seq() const {
    std::lock_guard lock(m_mutex);
    return m_last_seq;
}

}  // namespace pb::events
