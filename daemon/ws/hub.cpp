#include "daemon/ws/hub.hpp"

#include <algorithm>
#include <vector>

#include "common/events/tailer.hpp"
#include "daemon/metrics/prometheus_text.hpp"

namespace pb::daemon {

WsHub::WsHub(Services& services, WsOptions options)
    : m_services(services),
      m_options(std::move(options)),
      m_pool(m_options.op_threads, "pbd-ws"),
      m_fanout(services.store(), m_options.max_queue),
      m_watch([&services](const events::Event& e) { services.follower().offer(e); }),
      m_pruner(services.store(), services.clock(), m_options.retention),
      m_audit_pruner(services.audit(), services.clock(), m_options.audit_retention),
      m_tail(services.store(), m_options.poll_interval) {}

WsHub::~WsHub() {
    stop();
}

void WsHub::relay_rooms(redis::EventBus& bus, redis::Client& client) {
    m_rooms.relay(bus, client);
}

void WsHub::start() {
    const auto position = m_services.store().transaction(
        [](store::Connection& c) { return events::latest_seq(c); }, store::TxMode::read);
    m_fanout.start_at(position);
    m_pool.start();
    m_tail.start(
        position, [this](const std::vector<events::Event>& batch) { on_batch(batch); },
        [this] { on_tick(); });
    m_started = true;
}

void WsHub::stop() {
    if (!m_started) {
        return;
    }
    m_started = false;
    m_tail.stop();
    std::vector<std::shared_ptr<WsSink>> sinks;
    {
        std::lock_guard lock(m_mutex);
        for (auto& [id, weak] : m_sessions) {
            if (auto sink = weak.lock()) {
                sinks.push_back(std::move(sink));
            }
        }
    }
    for (auto& s : sinks) {
        s->going_away();
    }
    sinks.clear();
    m_rooms.withdraw_daemon();
    m_pool.stop();
}

void WsHub::on_batch(const std::vector<events::Event>& batch) {
    m_fanout.publish(batch);
    m_watch.on_events(batch);
}

void WsHub::on_tick() {
    m_rooms.heartbeat();
    m_pruner.tick();
    m_audit_pruner.tick();
}

std::uint64_t WsHub::attach(std::weak_ptr<WsSink> sink) {
    std::lock_guard lock(m_mutex);
    const auto id = m_next_id++;
    m_sessions.emplace(id, std::move(sink));
    return id;
}

void WsHub::detach(std::uint64_t session) {
    // Under the hub's lock, so that a set_caller() racing with it cannot
    // register the session again with a part.
    std::lock_guard lock(m_mutex);
    if (m_sessions.erase(session) == 0) {
        return;
    }
    m_rooms.remove(session);
    m_fanout.remove(session);
    m_watch.forget(session);
}

void WsHub::set_caller(std::uint64_t session, const ops::Caller& caller) {
    std::lock_guard lock(m_mutex);
    const auto it = m_sessions.find(session);
    if (it == m_sessions.end()) {
        return;  // closed meanwhile
    }
    m_fanout.add(session, it->second);
    m_rooms.add(session, it->second, caller.actor);
    m_watch.watch(session, it->second, caller);
}

void WsHub::render_metrics(std::string& out) const {
    const auto line = [&out](std::string_view name, std::string_view type, std::string_view help,
                             auto value) { append_metric(out, name, type, help, value); };
    line("pb_ws_connections", "gauge", "Open WebSocket connections.", open_sessions.load());
    line("pb_events_announced_total", "counter",
         "Events fanned out as announced on Redis, without reading the outbox.",
         m_tail.announced());
    line("pb_ws_subscribed_connections", "gauge", "WebSocket connections with a subscription.",
         m_fanout.subscribed_sessions());
    line("pb_ws_rooms", "gauge", "Rooms with at least one member.", m_rooms.count());
    line("pb_ws_messages_received_total", "counter", "WebSocket messages received.",
         messages_in.load());
    line("pb_ws_messages_sent_total", "counter", "WebSocket messages sent.", messages_out.load());
    line("pb_ws_dropped_slow_total", "counter",
         "WebSocket clients dropped for falling behind ws.max_queue.", dropped_slow.load());
    line("pb_ws_protocol_closes_total", "counter",
         "WebSocket connections closed for a bad frame, bad JSON, size or policy.",
         closed_by_protocol.load());
    line("pb_events_delivered_total", "counter", "Events pushed to WebSocket subscribers.",
         m_fanout.delivered());
    line("pb_events_last_seq", "gauge", "The last outbox seq fanned out.", m_fanout.position());
    line("pb_events_pruned_total", "counter", "Outbox events deleted by events.retention.",
         m_pruner.pruned());
    line("pb_audit_pruned_total", "counter", "Audit rows deleted by audit.retention.",
         m_audit_pruner.pruned());
}

}  // namespace pb::daemon
