#include "common/events/tailer.hpp"

#include "common/core/error.hpp"

namespace pb::events {

Tailer::Tailer(store::Store& store, std::int64_t after) : m_store(store), m_after(after) {}

std::size_t Tailer::poll(const std::function<void(const Event&)>& fn) {
    // The token is read before the outbox, so a commit racing with the read
    // leaves the token stale and the next poll reads again.
    const auto token = m_store.change_token();
    if (!m_first && token == m_token) {
        return 0;
    }
    constexpr int k_batch = 1000;
    std::size_t delivered = 0;
    for (;;) {
        const auto batch = m_store.transaction(
            [&](store::Connection& c) { return read_after(c, m_after, k_batch); },
            store::TxMode::read);
        for (const auto& e : batch) {
            m_after = e.seq;
            fn(e);
            ++delivered;
        }
        if (batch.size() < k_batch) {
            break;
        }
    }
    m_token = token;
    m_first = false;
    return delivered;
}

nlohmann::json to_json(const Event& e) {
    return {{"event", e.type},
            {"topic", e.topic},
            {"seq", e.seq},
            {"data", e.data},
            {"created_at", e.created_at}};
}

void check_resume(store::Connection& c, std::int64_t since) {
    if (since < 0) {
        throw Error(ErrorCode::invalid_argument, "since: must be 0 or more",
                    {{"param", "since"}, {"since", since}});
    }
    if (since == 0) {
        return;
    }
    const auto latest = latest_seq(c);
    if (since > latest) {
        throw Error(ErrorCode::invalid_argument,
                    "since: " + std::to_string(since) + " is past the newest event (" +
                        std::to_string(latest) + "); is this the same database?",
                    {{"param", "since"}, {"since", since}, {"latest_seq", latest}});
    }
    const auto oldest = oldest_seq(c);
    if (since + 1 < oldest) {
        throw Error(ErrorCode::not_found,
                    "events after " + std::to_string(since) +
                        " were pruned (events.retention); the oldest kept is " +
                        std::to_string(oldest) +
                        ": reload the current state, then subscribe with since " +
                        std::to_string(oldest - 1) + " or without since",
                    {{"reason", "pruned"}, {"since", since}, {"oldest_seq", oldest}});
    }
}

}  // namespace pb::events
