#include "common/events/follower.hpp"

#include <algorithm>

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
    for (std::int64_t cursor = m_last_seq;;) {
        const auto batch = m_store.transaction(
            [&](store::Connection& c) { return read_after(c, cursor, k_batch); },
            store::TxMode::read);
        for (const auto& e : batch) {
            cursor = e.seq;
            if (!m_delivered.insert(e.seq).second) {
                continue;  // delivered by an earlier call, above a gap
            }
            for (const auto& [prefix, listener] : m_listeners) {
                if (e.topic.starts_with(prefix)) {
                    listener(e);
                }
            }
        }
        advance_watermark();
        if (batch.size() < k_batch) {
            break;
        }
    }
    m_applied_token.store(token, std::memory_order_release);
}

void Follower::advance_watermark() {
    for (;;) {
        while (!m_delivered.empty() && *m_delivered.begin() <= m_last_seq + 1) {
            m_last_seq = std::max(m_last_seq, *m_delivered.begin());
            m_delivered.erase(m_delivered.begin());
        }
        if (m_delivered.empty()) {
            m_gap_since.reset();
            return;
        }
        // m_last_seq + 1 is missing below delivered events: a transaction that
        // has not committed yet, or never will.
        const auto now = std::chrono::steady_clock::now();
        if (!m_gap_since) {
            m_gap_since = now;
            return;
        }
        if (now - *m_gap_since < k_gap_wait) {
            return;
        }
        m_last_seq = *m_delivered.begin() - 1;
        m_gap_since.reset();
    }
}

std::int64_t Follower::last_seq() const {
    std::lock_guard lock(m_mutex);
    return m_last_seq;
}

}  // namespace pb::events
