#include "common/events/tailer.hpp"

#include "common/core/error.hpp"
#include "common/core/time_format.hpp"

namespace pb::events {

Tailer::Tailer(store::Store& store, std::int64_t after) : m_store(store), m_after(after) {}

std::size_t Tailer::poll(const std::function<void(const Event&)>& fn) {
    // The token is read before the outbox, so a commit racing with the read
    // leaves the token stale and the next poll reads again. A pending gap is
    // re-checked even without a commit: its wait may have run out.
    const auto token = m_store.change_token();
    if (!m_first && token == m_token && !m_gap_seen) {
        return 0;
    }
    // On SQLite writers are serialized, so seqs commit in order and none is
    // ever missing. On PostgreSQL a seq is taken at INSERT and seen at COMMIT:
    // seq 11 can be read while seq 10's transaction is still open. Events are
    // delivered in seq order only, so that a subscriber resuming "after 11"
    // cannot miss 10; a missing seq is waited for until k_gap_wait has passed
    // since the event above it was first seen (then its transaction rolled back).
    const bool in_order = m_store.dialect() == store::Dialect::postgresql;
    constexpr int k_batch = 1000;
    std::size_t delivered = 0;
    for (;;) {
        const auto batch = m_store.transaction(
            [&](store::Connection& c) { return read_after(c, m_after, k_batch); },
            store::TxMode::read);
        bool held = false;
        for (const auto& e : batch) {
            if (in_order && e.seq != m_after + 1) {
                const auto now = std::chrono::steady_clock::now();
                if (!m_gap_seen) {
                    m_gap_seen = now;
                }
                if (now - *m_gap_seen < k_gap_wait) {
                    held = true;
                    break;
                }
            }
            m_gap_seen.reset();
            m_after = e.seq;
            fn(e);
            ++delivered;
        }
        if (held || batch.size() < k_batch) {
            break;
        }
    }
    m_token = token;
    m_first = false;
    return delivered;
}

void Tailer::advance(std::int64_t seq) {
    if (seq != m_after + 1) {
        throw Error(ErrorCode::internal, "Tailer::advance: seq " + std::to_string(seq) +
                                             " does not follow " + std::to_string(m_after));
    }
    m_after = seq;
    m_gap_seen.reset();
}

nlohmann::json to_json(const Event& e) {
    return {{"event", e.type},
            {"topic", e.topic},
            {"seq", e.seq},
            {"data", e.data},
            {"created_at", format_rfc3339(e.created_at)}};
}

std::optional<Event> event_from_json(const nlohmann::json& j) {
    if (!j.is_object()) {
        return std::nullopt;
    }
    const auto seq = j.find("seq");
    const auto topic = j.find("topic");
    const auto type = j.find("event");
    const auto created = j.find("created_at");
    if (seq == j.end() || !seq->is_number_integer() || topic == j.end() || !topic->is_string() ||
        type == j.end() || !type->is_string() || created == j.end() || !created->is_string() ||
        seq->get<std::int64_t>() <= 0) {
        return std::nullopt;
    }
    const auto at = parse_rfc3339(created->get<std::string>());
    if (!at) {
        return std::nullopt;
    }
    return Event{seq->get<std::int64_t>(), topic->get<std::string>(), type->get<std::string>(),
                 j.value("data", nlohmann::json()), *at};
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
