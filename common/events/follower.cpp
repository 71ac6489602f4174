#include "common/events/follower.hpp"

#include <algorithm>

namespace pb::events {

Follower::Follower(store::Store& store) : m_store(store) {
    m_applied_token = m_store.change_token();
    // Starts after the newest event. A transaction still open now may yet
    // commit a lower seq, so the recent seqs that exist count as delivered and
    // the missing ones among them as gaps: waited for, then skipped.
    const auto rows = m_store.transaction(
        [](store::Connection& c) {
            return c.query(
                "SELECT seq FROM events WHERE seq > (SELECT COALESCE(MAX(seq), 0) FROM events) - "
                "$1 ORDER BY seq",
                {k_start_window});
        },
        store::TxMode::read);
    const std::int64_t latest = rows.empty() ? 0 : rows.back().get_int(0);
    m_last_seq = std::max<std::int64_t>(0, latest - k_start_window);
    const auto now = std::chrono::steady_clock::now();
    for (const auto& r : rows) {
        m_delivered.emplace(r.get_int(0), now);
    }
    advance_watermark();
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
    read_outbox(token);
}

void Follower::resync() {
    const auto token = m_store.change_token();
    std::lock_guard lock(m_mutex);
    read_outbox(token);
}

void Follower::offer(const Event& event) {
    std::lock_guard lock(m_mutex);
    deliver(event);
    advance_watermark();
}

void Follower::deliver(const Event& e) {
    if (e.seq <= m_last_seq ||
        !m_delivered.emplace(e.seq, std::chrono::steady_clock::now()).second) {
        return;  // delivered already (by an earlier read, or announced)
    }
    for (const auto& [prefix, listener] : m_listeners) {
        if (e.topic.starts_with(prefix)) {
            listener(e);
        }
    }
}

void Follower::read_outbox(std::uint64_t token) {
    constexpr int k_batch = 1000;
    for (std::int64_t cursor = m_last_seq;;) {
        const auto batch = m_store.transaction(
            [&](store::Connection& c) { return read_after(c, cursor, k_batch); },
            store::TxMode::read);
        for (const auto& e : batch) {
            cursor = e.seq;
            deliver(e);
        }
        advance_watermark();
        if (batch.size() < k_batch) {
            break;
        }
    }
    m_applied_token.store(token, std::memory_order_release);
}

void Follower::advance_watermark() {
    // A missing seq below delivered seq X was taken before X was; once X has
    // been seen for k_gap_wait, its transaction is taken to have rolled back.
    const auto now = std::chrono::steady_clock::now();
    while (!m_delivered.empty()) {
        const auto it = m_delivered.begin();
        if (it->first > m_last_seq + 1 && now - it->second < k_gap_wait) {
            return;
        }
        m_last_seq = std::max(m_last_seq, it->first);
        m_delivered.erase(it);
    }
}

std::int64_t Follower::last_seq() const {
    std::lock_guard lock(m_mutex);
    return m_last_seq;
}

}  // namespace pb::events
