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
    // Live unless every pattern that matches is being replayed (then held).
    bool live = false;
    bool held = false;
    for (const auto& f : s.live) {
        if (!events::topic_matches(f.pattern, e.topic)) {
            continue;
        }
        if (s.pending.empty() ||
            std::find(s.pending.begin(), s.pending.end(), f.pattern) == s.pending.end()) {
            live = true;
            break;
        }
        held = true;
    }
    if (!live && !held && !matches_any(s.pending, e.topic)) {
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
    s.held.push_back({text, e.topic});
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

json Fanout::topics_of(const Subscriber& s) {
    json out = json::array();
    for (const auto& f : s.live) {
        out.push_back(f.pattern);
    }
    return out;
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
        std::vector<std::string> fresh;
        for (const auto& p : patterns) {
            if (std::none_of(s.live.begin(), s.live.end(),
                             [&](const Followed& f) { return f.pattern == p; })) {
                fresh.push_back(p);
            }
        }
        if (s.live.size() + fresh.size() > k_max_patterns) {
            throw Error(ErrorCode::invalid_argument,
                        "topics: a connection subscribes to at most 100 patterns",
                        {{"param", "topics"}});
        }
        r.until = m_position;
        if (!since) {
            for (auto& p : fresh) {
                s.live.push_back({std::move(p), r.until});
            }
            return {{"topics", topics_of(s)}, {"position", r.until}, {"replayed", 0}};
        }
        // Every pattern named is replayed, a followed one too: its events
        // are held meanwhile, so the replay comes first and nothing twice.
        r.since = *since;
        r.sent = s.live;
        r.patterns = patterns;
        s.pending = patterns;
    }
    std::int64_t replayed = 0;
    try {
        replayed = replay(r);
    } catch (...) {
        abandon(session);
        throw;
    }
    return go_live(session, r, replayed);
}

void Fanout::abandon(std::uint64_t session) {
    std::lock_guard lock(m_mutex);
    const auto it = m_subscribers.find(session);
    if (it == m_subscribers.end()) {
        return;
    }
    auto& s = it->second;
    auto sink = s.sink.lock();
    for (auto& h : s.held) {
        const bool followed = std::any_of(s.live.begin(), s.live.end(), [&](const Followed& f) {
            return events::topic_matches(f.pattern, h.topic);
        });
        if (followed && sink) {
            sink->push(std::move(h.frame));
        }
    }
    s.pending.clear();
    s.held.clear();
    s.held_bytes = 0;
}

std::int64_t Fanout::replay(const Replay& r) {
    // An event a live pattern matches after its `from` was sent already.
    const auto sent = [&](const events::Event& e) {
        return std::any_of(r.sent.begin(), r.sent.end(), [&](const Followed& f) {
            return e.seq > f.from && events::topic_matches(f.pattern, e.topic);
        });
    };
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
            if (matches_any(r.patterns, e.topic) && !sent(e)) {
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
    for (auto& h : s.held) {
        r.sink->push(std::move(h.frame));
    }
    s.held.clear();
    s.held_bytes = 0;
    // Each pattern has now had every event after `since`.
    for (auto& p : s.pending) {
        const auto it = std::find_if(s.live.begin(), s.live.end(),
                                     [&](const Followed& f) { return f.pattern == p; });
        if (it == s.live.end()) {
            s.live.push_back({std::move(p), r.since});
        } else {
            it->from = std::min(it->from, r.since);
        }
    }
    s.pending.clear();
    return {{"topics", topics_of(s)}, {"position", r.until}, {"replayed", replayed}};
}

json Fanout::unsubscribe(std::uint64_t session, const json& args) {
    const auto patterns = topics_arg(args);
    std::lock_guard lock(m_mutex);
    auto& s = subscriber(session);
    std::erase_if(s.live, [&](const Followed& f) {
        return std::find(patterns.begin(), patterns.end(), f.pattern) != patterns.end();
    });
    return {{"topics", topics_of(s)}};
}

}  // namespace pb::daemon::ws
