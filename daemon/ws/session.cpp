// The session's life and its outgoing queue: WsSink's side (any thread).
#include "daemon/ws/session.hpp"

#include <boost/asio/post.hpp>

#include "common/core/http_text.hpp"
#include "common/core/log.hpp"
#include "daemon/ws/hub.hpp"

namespace pb::daemon::http_detail {

namespace websocket = boost::beast::websocket;

const std::shared_ptr<spdlog::logger>& ws_logger() {
    static const auto l = log::get("daemon.ws");
    return l;
}

bool wants_websocket(const Request& request) {
    if (request.method != "GET") {
        return false;
    }
    // Upgrade may list several protocols: "websocket" must be one of them.
    auto value = request.header("Upgrade");
    while (!value.empty()) {
        const auto comma = value.find(',');
        if (iequals(trim_ows(value.substr(0, comma)), "websocket")) {
            return true;
        }
        value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
    }
    return false;
}

void serve_websocket(ServerState& server, Socket socket, const Request& request) {
    std::make_shared<WsSession>(server, std::move(socket), request)->start();
}

WsSession::WsSession(ServerState& server, Socket socket, const Request& request)
    : m_server(server),
      m_hub(*server.websocket),
      m_ws(std::move(socket)),
      m_auth_timer(m_ws.get_executor()),
      m_expiry_timer(m_ws.get_executor()),
      m_target(request.target),
      m_remote(request.remote),
      m_requests(m_hub.pool()) {
    for (const auto& h : request.headers) {
        m_fields.emplace_back(h.name, h.value);
    }
    m_server.metrics.connection_opened();
    m_hub.open_sessions.fetch_add(1, std::memory_order_relaxed);
}

WsSession::~WsSession() {
    m_hub.open_sessions.fetch_sub(1, std::memory_order_relaxed);
    m_server.metrics.connection_closed();
}

void WsSession::start() {
    m_id = m_hub.attach(weak_from_this());
    m_hub.run_blocking([self = shared_from_this()] { self->admit(); });
}

void WsSession::push(WsFrame text) {
    std::lock_guard lock(m_out_mutex);
    if (m_finished) {
        return;
    }
    // One frame larger than the bound still goes when nothing else waits.
    if (m_out_bytes > 0 && m_out_bytes + text->size() > m_hub.options().max_queue) {
        if (!m_overflowed) {
            m_overflowed = true;
            asio::post(m_ws.get_executor(), [self = shared_from_this()] { self->on_slow(); });
        }
        return;
    }
    m_out_bytes += text->size();
    m_out.push_back(std::move(text));
    if (!m_flushing) {
        m_flushing = true;
        asio::post(m_ws.get_executor(), [self = shared_from_this()] { self->flush(); });
    }
}

std::uint64_t WsSession::queued_bytes() const {
    std::lock_guard lock(m_out_mutex);
    return m_out_bytes;
}

void WsSession::drop_slow() {
    {
        std::lock_guard lock(m_out_mutex);
        if (m_overflowed) {
            return;
        }
        m_overflowed = true;
    }
    asio::post(m_ws.get_executor(), [self = shared_from_this()] { self->on_slow(); });
}

void WsSession::going_away() {
    asio::post(m_ws.get_executor(), [self = shared_from_this()] {
        self->close_with(websocket::close_code::going_away, "pbd is stopping");
    });
}

void WsSession::recheck() {
    if (m_recheck_queued.exchange(true)) {
        return;  // one re-check is enough for every event before it runs
    }
    m_hub.run_blocking([self = shared_from_this()] {
        self->m_recheck_queued.store(false);
        self->revalidate();
    });
}
}  // namespace pb::daemon::http_detail
