#include "daemon/ws/fanout.hpp"

#include <algorithm>
#include <chrono>
#include <optional>
#include <thread>

#include "common/core/error.hpp"
#include "common/events/tailer.hpp"
#include "common/events/topics.hpp"
#include "daemon/ws/message.hpp"

namespace pb::daemon::ws {
namespace {

using nlohmann::json;

constexpr std::size_t k_max_patterns = 100;
constexpr auto k_replay_patience = std::chrono::seconds(5);
constexpr int k_replay_batch = 500;

bool matches_any(const std::vector<std::string>& patterns, std::string_view topic) {
    return std::any_of(patterns.begin(), patterns.end(),
                       [&](const std::string& p) { return events::topic_matches(p, topic); });
}

std::vector<std::string> topics_arg(const json& args) {
    const auto it = args.find("topics");
    if (it == args.end() || !(it->is_array() || it->is_string())) {
        throw Error(ErrorCode::invalid_argument,
                    "topics: required, a list of topic patterns (\"states/user_1\", \"keys\", "
                    "\"states/user_*\", \"*\")",
                    {{"param", "topics"}});
    }
    std::vector<std::string> out;
    const json list = it->is_string() ? json::array({*it}) : *it;
    for (const auto& t : list) {
        if (!t.is_string()) {
            throw Error(ErrorCode::invalid_argument, "topics: every pattern must be a string",
                        {{"param", "topics"}});
        }
        events::check_pattern(t.get_ref<const std::string&>());
        if (std::find(out.begin(), out.end(), t.get<std::string>()) == out.end()) {
            out.push_back(t.get<std::string>());
        }
    }
    if (out.empty() || out.size() > k_max_patterns) {
        throw Error(ErrorCode::invalid_argument, "topics: give 1 to 100 patterns",
                    {{"param", "topics"}});
    }
    return out;
}

std::optional<std::int64_t> since_arg(const json& args) {
    const auto it = args.find("since");
    if (it == args.end() || it->is_null()) {
        return std::nullopt;
    }
    if (!it->is_number_integer()) {
        throw Error(ErrorCode::invalid_argument, "since: must be an event seq (an integer)",
                    {{"param", "since"}});
    }
    return it->get<std::int64_t>();
}

}  // namespace

Fanout::Fanout(store::Store& store, std::uint64_t max_queue)
    : m_store(store), m_max_queue(max_queue) {}

void Fanout::start_at(std::int64_t position) {
    std::lock_guard lock(m_mutex);
    m_position = position;
}

void Fanout::add(std::uint64_t session, std::weak_ptr<WsSink> sink) {
    std::lock_guard lock(m_mutex);
    m_subscribers.try_emplace(session, Subscriber{.sink = std::move(sink)});
}

void Fanout::remove(std::uint64_t session) {
    std::lock_guard lock(m_mutex);
    m_subscribers.erase(session);
}

std::int64_t Fanout::position() const {
    std::lock_guard lock(m_mutex);
    return m_position;
}

std::size_t Fanout::subscribed_sessions() const {
    std::lock_guard lock(m_mutex);
    return static_cast<std::size_t>(
        std::count_if(m_subscribers.begin(), m_subscribers.end(),
                      [](const auto& s) { return !s.second.live.empty(); }));
}

Fanout::Subscriber& Fanout::subscriber(std::uint64_t session) {
    const auto it = m_subscribers.find(session);
    if (it == m_subscribers.end()) {
        throw Error(ErrorCode::unavailable, "the connection is closing");
    }
    return it->second;
}

void Fanout::publish(const std::vector<events::Event>& batch) {
    std::lock_guard lock(m_mutex);
    for (const auto& e : batch) {
        WsFrame text;  // encoded once, for the first session that wants it
        for (auto& [id, s] : m_subscribers) {
            deliver(s, e, text);
        }
        m_position = e.seq;
    }
}

void Fanout::deliver(Subscriber& s, const events::Event& e, WsFrame& text) {
    const bool live = matches_any(s.live, e.topic);
    if (!live && !matches_any(s.pending, e.topic)) {
        return;
    }
    if (!text) {
        text = ws_frame(events::to_json(e));
    }
    if (live) {
        if (auto sink = s.sink.lock()) {
            sink->push(text);
            m_delivered.fetch_add(1, std::memory_order_relaxed);
        }
        return;
    }
    s.held.push_back(text);
    s.held_bytes += text->size();
    if (s.held_bytes > m_max_queue) {
        if (auto sink = s.sink.lock()) {
            sink->drop_slow();
        }
        s.held.clear();
        s.pending.clear();
        s.held_bytes = 0;
    }
}

json Fanout::subscribe(std::uint64_t session, const json& args) {
    const auto patterns = topics_arg(args);
    const auto since = since_arg(args);
    Replay r;
    {
        std::lock_guard lock(m_mutex);
        auto& s = subscriber(session);
        r.sink = s.sink.lock();
        if (!r.sink) {
            throw Error(ErrorCode::unavailable, "the connection is closing");
        }
        for (const auto& p : patterns) {
            if (std::find(s.live.begin(), s.live.end(), p) == s.live.end()) {
                r.fresh.push_back(p);
            }
        }
        if (s.live.size() + r.fresh.size() > k_max_patterns) {
            throw Error(ErrorCode::invalid_argument,
                        "topics: a connection subscribes to at most 100 patterns",
                        {{"param", "topics"}});
        }
        r.until = m_position;
        if (!since) {
            s.live.insert(s.live.end(), r.fresh.begin(), r.fresh.end());
            return {{"topics", s.live}, {"position", r.until}, {"replayed", 0}};
        }
        r.since = *since;
        r.established = s.live;
        s.pending = r.fresh;
    }
    std::int64_t replayed = 0;
    try {
        replayed = replay(r);
    } catch (...) {
        std::lock_guard lock(m_mutex);
        if (auto it = m_subscribers.find(session); it != m_subscribers.end()) {
            it->second.pending.clear();
            it->second.held.clear();
            it->second.held_bytes = 0;
        }
        throw;
    }
    return go_live(session, r, replayed);
}

std::int64_t Fanout::replay(const Replay& r) {
    // Events that also match an established pattern were sent when they happened.
    std::int64_t replayed = 0;
    std::int64_t after = r.since;
    bool checked = false;
    while (after < r.until) {
        const auto batch = m_store.transaction(
            [&](store::Connection& c) {
                if (!checked) {
                    events::check_resume(c, r.since);
                    checked = true;
                }
                return events::read_after(c, after, k_replay_batch);
            },
            store::TxMode::read);
        if (batch.empty()) {
            break;
        }
        for (const auto& e : batch) {
            if (e.seq > r.until) {
                after = r.until;
                break;
            }
            after = e.seq;
            if (matches_any(r.fresh, e.topic) && !matches_any(r.established, e.topic)) {
                wait_for_room(*r.sink);
                r.sink->push(ws_frame(events::to_json(e)));
                ++replayed;
            }
        }
    }
    if (!checked) {
        m_store.transaction([&](store::Connection& c) { events::check_resume(c, r.since); },
                            store::TxMode::read);
    }
    return replayed;
}

void Fanout::wait_for_room(WsSink& sink) const {
    // A long replay waits for the client to read rather than outgrowing its
    // queue. One that stops reading is dropped within a few seconds, so it
    // holds a pool thread no longer.
    const auto give_up = std::chrono::steady_clock::now() + k_replay_patience;
    while (sink.queued_bytes() > m_max_queue / 2) {
        if (std::chrono::steady_clock::now() >= give_up) {
            sink.drop_slow();
            throw Error(ErrorCode::unavailable, "the client stopped reading during the replay");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

json Fanout::go_live(std::uint64_t session, const Replay& r, std::int64_t replayed) {
    std::lock_guard lock(m_mutex);
    auto& s = subscriber(session);
    for (auto& f : s.held) {
        r.sink->push(std::move(f));
    }
    s.held.clear();
    s.held_bytes = 0;
    s.live.insert(s.live.end(), s.pending.begin(), s.pending.end());
    s.pending.clear();
    return {{"topics", s.live}, {"position", r.until}, {"replayed", replayed}};
}

json Fanout::unsubscribe(std::uint64_t session, const json& args) {
    const auto patterns = topics_arg(args);
    std::lock_guard lock(m_mutex);
    auto& s = subscriber(session);
    std::erase_if(s.live, [&](const std::string& p) {
        return std::find(patterns.begin(), patterns.end(), p) != patterns.end();
    });
    return {{"topics", s.live}};
}

}  // namespace pb::daemon::ws
