#include "daemon/ws_hub.hpp"

#include <algorithm>
#include <pthread.h>

#include "common/core/error.hpp"
#include "common/core/log.hpp"
#include "common/events/tailer.hpp"
#include "common/events/topics.hpp"
#include "common/redis/client.hpp"
#include "common/redis/event_bus.hpp"
#include "daemon/metrics/prometheus_text.hpp"

namespace pb::daemon {
namespace {

using nlohmann::json;

const std::shared_ptr<spdlog::logger>& logger() {
    static const auto l = log::get("daemon.ws");
    return l;
}

constexpr auto k_prune_interval = std::chrono::minutes(1);
// Announced events waiting for the tail at most (see WsHub::offer).
constexpr std::size_t k_max_announced = 10'000;
constexpr std::int64_t k_prune_batch = 10'000;
constexpr std::size_t k_max_patterns = 100;
constexpr auto k_replay_patience = std::chrono::seconds(5);

std::string dump(const json& j) {
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::shared_ptr<const std::string> frame(const json& j) {
    return std::make_shared<const std::string>(dump(j));
}

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

}  // namespace

WsHub::WsHub(Services& services, WsOptions options)
    : m_services(services), m_options(std::move(options)) {}

WsHub::~WsHub() {
    stop();
}

void WsHub::start() {
    m_position = m_services.store().transaction(
        [](store::Connection& c) { return events::latest_seq(c); }, store::TxMode::read);
    m_last_seq = m_position;
    for (int i = 0; i < std::max(1, m_options.op_threads); ++i) {
        m_pool.emplace_back([this, i] {
            const auto name = "pbd-ws-" + std::to_string(i);
            pthread_setname_np(pthread_self(), name.c_str());
            pool_loop();
        });
    }
    m_tail = std::thread([this] {
        pthread_setname_np(pthread_self(), "pbd-events");
        tail_loop();
    });
    m_started = true;
}

void WsHub::stop() {
    if (!m_started) {
        return;
    }
    m_started = false;
    {
        std::lock_guard lock(m_tail_mutex);
        m_tail_stop = true;
    }
    m_tail_cv.notify_all();
    m_tail.join();
    std::vector<std::shared_ptr<WsSink>> sinks;
    {
        std::lock_guard lock(m_mutex);
        for (auto& [id, s] : m_sessions) {
            if (auto sink = s.sink.lock()) {
                sinks.push_back(std::move(sink));
            }
        }
    }
    for (auto& s : sinks) {
        s->going_away();
    }
    sinks.clear();
    if (m_bus != nullptr) {
        // Other daemons stop listing this one's members at once.
        m_bus->send({"DEL", m_redis->key("daemon:" + m_daemon_id)});
    }
    {
        std::lock_guard lock(m_pool_mutex);
        m_stopping = true;
    }
    m_pool_cv.notify_all();
    for (auto& t : m_pool) {
        t.join();
    }
    m_pool.clear();
}

void WsHub::run_blocking(std::function<void()> job) {
    {
        std::lock_guard lock(m_pool_mutex);
        if (m_stopping) {
            return;
        }
        m_jobs.push_back(std::move(job));
    }
    m_pool_cv.notify_one();
}

void WsHub::pool_loop() {
    for (;;) {
        std::function<void()> job;
        {
            std::unique_lock lock(m_pool_mutex);
            m_pool_cv.wait(lock, [this] { return m_stopping || !m_jobs.empty(); });
            if (m_jobs.empty()) {
                return;  // stopping, and everything queued has run
            }
            job = std::move(m_jobs.front());
            m_jobs.pop_front();
        }
        try {
            job();
        } catch (const std::exception& e) {
            logger()->error("unexpected failure in a WebSocket job: {}", e.what());
        }
    }
}

void WsHub::poke() {
    {
        std::lock_guard lock(m_tail_mutex);
        m_poked = true;
    }
    m_tail_cv.notify_one();
}

void WsHub::offer(const events::Event& event) {
    {
        std::lock_guard lock(m_tail_mutex);
        // Bounded: past this, the outbox read delivers what was not taken.
        if (m_offered.size() < k_max_announced) {
            m_offered.push_back(event);
        }
        m_poked = true;
    }
    m_tail_cv.notify_one();
}

void WsHub::take_announced(events::Tailer& tailer, std::vector<events::Event>& batch) {
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
        m_events_announced.fetch_add(1, std::memory_order_relaxed);
    }
    if (m_early.size() > k_max_announced) {
        m_early.clear();
    }
}

std::uint64_t WsHub::attach(std::weak_ptr<WsSink> sink) {
    std::lock_guard lock(m_mutex);
    const auto id = m_next_id++;
    m_sessions[id].sink = std::move(sink);
    return id;
}

void WsHub::detach(std::uint64_t session) {
    std::lock_guard lock(m_mutex);
    const auto it = m_sessions.find(session);
    if (it == m_sessions.end()) {
        return;
    }
    for (const auto& room : std::set<std::string>(it->second.rooms)) {
        leave_locked(session, it->second, room);
    }
    m_sessions.erase(it);
}

void WsHub::set_caller(std::uint64_t session, const ops::Caller& caller) {
    std::lock_guard lock(m_mutex);
    if (const auto it = m_sessions.find(session); it != m_sessions.end()) {
        it->second.actor = caller.actor;
        it->second.key_id = caller.key_id;
        it->second.jwt = caller.key_id.empty();
        it->second.authenticated = true;
    }
}

void WsHub::recheck_credentials(const std::vector<events::Event>& batch) {
    bool tokens = false;
    bool bans = false;
    std::vector<std::string_view> keys;
    for (const auto& e : batch) {
        const std::string_view topic = e.topic;
        const bool key = topic.starts_with("keys/");
        const bool token = topic.starts_with("tokens/");
        const bool ban = topic == "bans" || topic.starts_with("bans/");
        if (!key && !token && !ban) {
            continue;
        }
        m_services.follower().offer(e);
        tokens = tokens || token;
        bans = bans || ban;
        if (key) {
            keys.push_back(topic.substr(5));
        }
    }
    if (!tokens && !bans && keys.empty()) {
        return;
    }
    std::vector<std::shared_ptr<WsSink>> sinks;
    {
        std::lock_guard lock(m_mutex);
        for (auto& [id, s] : m_sessions) {
            if (!s.authenticated) {
                continue;
            }
            const bool concerned =
                bans || (s.jwt && tokens) ||
                (!s.jwt && std::find(keys.begin(), keys.end(), s.key_id) != keys.end());
            if (!concerned) {
                continue;
            }
            if (auto sink = s.sink.lock()) {
                sinks.push_back(std::move(sink));
            }
        }
    }
    for (auto& sink : sinks) {
        sink->recheck();
    }
}

std::shared_ptr<WsSink> WsHub::sink_of(std::uint64_t session) {
    const auto it = m_sessions.find(session);
    return it == m_sessions.end() ? nullptr : it->second.sink.lock();
}

WsHub::Session& WsHub::session_of(std::uint64_t session) {
    const auto it = m_sessions.find(session);
    if (it == m_sessions.end()) {
        throw Error(ErrorCode::unavailable, "the connection is closing");
    }
    return it->second;
}

void WsHub::tail_loop() {
    // Starts where start() read the position: history is replayed on request.
    events::Tailer tailer(m_services.store(), m_position);
    auto next_prune = std::chrono::steady_clock::now();
    std::vector<events::Event> batch;
    std::vector<events::Event> offered;
    for (;;) {
        {
            std::unique_lock lock(m_tail_mutex);
            m_tail_cv.wait_for(lock, m_options.poll_interval,
                               [this] { return m_tail_stop || m_poked; });
            if (m_tail_stop) {
                return;
            }
            m_poked = false;
            offered.swap(m_offered);
        }
        try {
            batch.clear();
            for (auto& e : offered) {
                const auto seq = e.seq;
                m_early.emplace(seq, std::move(e));
            }
            offered.clear();
            // Announced events first (no database read), then whatever the
            // outbox has after them, then announced ones the read caught up to.
            take_announced(tailer, batch);
            tailer.poll([&](const events::Event& e) { batch.push_back(e); });
            take_announced(tailer, batch);
        } catch (const std::exception& e) {
            // The database may be busy or gone for a moment: the next poll
            // retries from the tailer's position, after what is in `batch`.
            logger()->warn("reading the event outbox failed: {}", e.what());
        }
        if (!batch.empty()) {
            fan_out(batch);
            recheck_credentials(batch);
        }
        heartbeat();
        if (std::chrono::steady_clock::now() >= next_prune) {
            next_prune = std::chrono::steady_clock::now() + k_prune_interval;
            try {
                prune();
            } catch (const std::exception& e) {
                logger()->warn("pruning the event outbox failed: {}", e.what());
            }
        }
    }
}

void WsHub::fan_out(const std::vector<events::Event>& batch) {
    std::lock_guard lock(m_mutex);
    for (const auto& e : batch) {
        std::shared_ptr<const std::string> text;
        for (auto& [id, s] : m_sessions) {
            const bool live = matches_any(s.live, e.topic);
            if (!live && !matches_any(s.pending, e.topic)) {
                continue;
            }
            if (!text) {
                text = frame(events::to_json(e));
            }
            if (live) {
                if (auto sink = s.sink.lock()) {
                    sink->push(text);
                    m_events_delivered.fetch_add(1, std::memory_order_relaxed);
                }
                continue;
            }
            s.held.push_back(text);
            s.held_bytes += text->size();
            if (s.held_bytes > m_options.max_queue) {
                if (auto sink = s.sink.lock()) {
                    sink->drop_slow();
                }
                s.held.clear();
                s.pending.clear();
                s.held_bytes = 0;
            }
        }
        m_position = e.seq;
    }
    m_last_seq = m_position;
}

void WsHub::prune() {
    const auto cutoff = m_services.clock().now() - m_options.retention.count();
    for (;;) {
        const auto deleted = m_services.store().transaction(
            [&](store::Connection& c) { return events::prune(c, cutoff, k_prune_batch); });
        m_events_pruned.fetch_add(static_cast<std::uint64_t>(deleted), std::memory_order_relaxed);
        if (deleted > 0) {
            logger()->info("pruned {} event(s) older than events.retention", deleted);
        }
        if (deleted < k_prune_batch) {
            return;
        }
    }
}

json WsHub::subscribe(std::uint64_t session, const json& args) {
    const auto patterns = topics_arg(args);
    std::optional<std::int64_t> since;
    if (const auto it = args.find("since"); it != args.end() && !it->is_null()) {
        if (!it->is_number_integer()) {
            throw Error(ErrorCode::invalid_argument, "since: must be an event seq (an integer)",
                        {{"param", "since"}});
        }
        since = it->get<std::int64_t>();
    }
    std::vector<std::string> fresh;
    std::vector<std::string> established;
    std::int64_t until = 0;
    std::shared_ptr<WsSink> sink;
    {
        std::lock_guard lock(m_mutex);
        auto& s = session_of(session);
        sink = s.sink.lock();
        if (!sink) {
            throw Error(ErrorCode::unavailable, "the connection is closing");
        }
        for (const auto& p : patterns) {
            if (std::find(s.live.begin(), s.live.end(), p) == s.live.end()) {
                fresh.push_back(p);
            }
        }
        if (s.live.size() + fresh.size() > k_max_patterns) {
            throw Error(ErrorCode::invalid_argument,
                        "topics: a connection subscribes to at most 100 patterns",
                        {{"param", "topics"}});
        }
        until = m_position;
        if (!since) {
            s.live.insert(s.live.end(), fresh.begin(), fresh.end());
            return {{"topics", s.live}, {"position", until}, {"replayed", 0}};
        }
        established = s.live;
        s.pending = fresh;
    }

    // Replays (since, until] for the new patterns: events that also match an
    // established pattern were sent when they happened.
    std::int64_t replayed = 0;
    try {
        std::int64_t after = *since;
        bool checked = false;
        while (after < until) {
            const auto batch = m_services.store().transaction(
                [&](store::Connection& c) {
                    if (!checked) {
                        events::check_resume(c, *since);
                        checked = true;
                    }
                    return events::read_after(c, after, 500);
                },
                store::TxMode::read);
            if (batch.empty()) {
                break;
            }
            for (const auto& e : batch) {
                if (e.seq > until) {
                    after = until;
                    break;
                }
                after = e.seq;
                if (matches_any(fresh, e.topic) && !matches_any(established, e.topic)) {
                    // A long replay waits for the client to read rather than
                    // outgrowing its queue. One that stops reading is dropped
                    // within a few seconds, so it holds a pool thread no longer.
                    const auto give_up = std::chrono::steady_clock::now() + k_replay_patience;
                    while (sink->queued_bytes() > m_options.max_queue / 2) {
                        if (std::chrono::steady_clock::now() >= give_up) {
                            sink->drop_slow();
                            throw Error(ErrorCode::unavailable,
                                        "the client stopped reading during the replay");
                        }
                        std::this_thread::sleep_for(std::chrono::milliseconds(5));
                    }
                    sink->push(frame(events::to_json(e)));
                    ++replayed;
                }
            }
        }
        if (!checked) {
            m_services.store().transaction(
                [&](store::Connection& c) { events::check_resume(c, *since); },
                store::TxMode::read);
        }
    } catch (...) {
        std::lock_guard lock(m_mutex);
        if (auto it = m_sessions.find(session); it != m_sessions.end()) {
            it->second.pending.clear();
            it->second.held.clear();
            it->second.held_bytes = 0;
        }
        throw;
    }
    std::lock_guard lock(m_mutex);
    auto& s = session_of(session);
    for (auto& f : s.held) {
        sink->push(std::move(f));
    }
    s.held.clear();
    s.held_bytes = 0;
    s.live.insert(s.live.end(), s.pending.begin(), s.pending.end());
    s.pending.clear();
    return {{"topics", s.live}, {"position", until}, {"replayed", replayed}};
}

json WsHub::unsubscribe(std::uint64_t session, const json& args) {
    const auto patterns = topics_arg(args);
    std::lock_guard lock(m_mutex);
    auto& s = session_of(session);
    std::erase_if(s.live, [&](const std::string& p) {
        return std::find(patterns.begin(), patterns.end(), p) != patterns.end();
    });
    return {{"topics", s.live}};
}

void WsHub::render_metrics(std::string& out) const {
    std::size_t subscribed = 0;
    std::size_t rooms = 0;
    {
        std::lock_guard lock(m_mutex);
        for (const auto& [id, s] : m_sessions) {
            subscribed += s.live.empty() ? 0 : 1;
        }
        rooms = m_rooms.size();
    }
    const auto line = [&out](std::string_view name, std::string_view type, std::string_view help,
                             auto value) { append_metric(out, name, type, help, value); };
    line("pb_ws_connections", "gauge", "Open WebSocket connections.", open_sessions.load());
    line("pb_events_announced_total", "counter",
         "Events fanned out as announced on Redis, without reading the outbox.",
         m_events_announced.load());
    line("pb_ws_subscribed_connections", "gauge", "WebSocket connections with a subscription.",
         subscribed);
    line("pb_ws_rooms", "gauge", "Rooms with at least one member.", rooms);
    line("pb_ws_messages_received_total", "counter", "WebSocket messages received.",
         messages_in.load());
    line("pb_ws_messages_sent_total", "counter", "WebSocket messages sent.", messages_out.load());
    line("pb_ws_dropped_slow_total", "counter",
         "WebSocket clients dropped for falling behind ws.max_queue.", dropped_slow.load());
    line("pb_ws_protocol_closes_total", "counter",
         "WebSocket connections closed for a bad frame, bad JSON, size or policy.",
         closed_by_protocol.load());
    line("pb_events_delivered_total", "counter", "Events pushed to WebSocket subscribers.",
         m_events_delivered.load());
    line("pb_events_last_seq", "gauge", "The last outbox seq fanned out.", m_last_seq.load());
    line("pb_events_pruned_total", "counter", "Outbox events deleted by events.retention.",
         m_events_pruned.load());
}

}  // namespace pb::daemon
