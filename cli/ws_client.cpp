#include "cli/ws_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "cli/run_until.hpp"
#include "common/core/error.hpp"
#include "common/core/json_parse.hpp"

namespace pb::cli {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

struct Endpoint {
    std::string host;
    std::string port;
};

Endpoint parse_server(const std::string& server) {
    std::string_view rest = server;
    std::string_view default_port = "80";
    if (rest.starts_with("http://")) {
        rest.remove_prefix(7);
    } else if (rest.starts_with("ws://")) {
        rest.remove_prefix(5);
    } else if (rest.starts_with("https://") || rest.starts_with("wss://")) {
        throw Error(ErrorCode::invalid_argument,
                    "--server: streaming commands reach pbd over plain http:// or ws:// only (no "
                    "TLS in pbctl's WebSocket client yet): " +
                        server);
    } else {
        throw Error(ErrorCode::invalid_argument, "--server: not an http:// URL: " + server);
    }
    rest = rest.substr(0, rest.find('/'));
    Endpoint out;
    if (rest.starts_with('[')) {
        const auto close = rest.find(']');
        out.host = std::string(rest.substr(1, close - 1));
        rest.remove_prefix(close == std::string_view::npos ? rest.size() : close + 1);
        out.port = rest.starts_with(':') ? std::string(rest.substr(1)) : std::string(default_port);
    } else {
        const auto colon = rest.rfind(':');
        out.host = std::string(rest.substr(0, colon));
        out.port = colon == std::string_view::npos ? std::string(default_port)
                                                   : std::string(rest.substr(colon + 1));
    }
    if (out.host.empty() || out.port.empty()) {
        throw Error(ErrorCode::invalid_argument, "--server: no host or port in " + server);
    }
    return out;
}

}  // namespace

struct WsClient::Impl {
    asio::io_context ioc{1};
    websocket::stream<tcp::socket> ws{ioc};
    beast::flat_buffer buffer;
    bool reading = false;
    bool read_done = false;
    error_code read_error;

    // Runs the context until `done` or the deadline; false on the deadline.
    // Runs the context until `done` or the deadline; false on the deadline.
    bool run_until(const bool& done, Clock::time_point deadline) {
        return cli::run_until(ioc, done, deadline);
    }
};

WsClient::WsClient(const std::string& server, const std::string& api_key,
                   std::chrono::milliseconds timeout)
    : m_impl(std::make_unique<Impl>()) {
    const auto endpoint = parse_server(server);
    auto& s = *m_impl;
    const auto deadline = Clock::now() + timeout;
    const auto unreachable = [&](const std::string& why) {
        return Error(ErrorCode::unavailable, "cannot reach pbd at " + server + ": " + why);
    };
    error_code ec;
    tcp::resolver resolver(s.ioc);
    const auto found = resolver.resolve(endpoint.host, endpoint.port, ec);
    if (ec) {
        throw unreachable(ec.message());
    }
    bool done = false;
    asio::async_connect(s.ws.next_layer(), found, [&](error_code e, const tcp::endpoint&) {
        ec = e;
        done = true;
    });
    if (!s.run_until(done, deadline)) {
        throw unreachable("timed out connecting");
    }
    if (ec) {
        throw unreachable(ec.message());
    }
    s.ws.next_layer().set_option(tcp::no_delay(true));
    s.ws.set_option(websocket::stream_base::decorator([api_key](websocket::request_type& req) {
        req.set(beast::http::field::user_agent, "pbctl");
        if (!api_key.empty()) {
            req.set(beast::http::field::authorization, "Bearer " + api_key);
        }
    }));
    websocket::response_type response;
    done = false;
    s.ws.async_handshake(response, endpoint.host + ":" + endpoint.port, "/ws", [&](error_code e) {
        ec = e;
        done = true;
    });
    if (!s.run_until(done, deadline)) {
        throw unreachable("timed out during the WebSocket handshake");
    }
    if (ec == websocket::error::upgrade_declined) {
        const auto body = parse_json_or_discarded(response.body(), {k_max_stored_json_depth});
        if (body.is_object() && body.contains("error") && body["error"].is_object()) {
            throw Error::from_json(body["error"]);
        }
        throw unreachable("the WebSocket upgrade was refused with HTTP " +
                          std::to_string(response.result_int()));
    }
    if (ec) {
        throw unreachable(ec.message());
    }
}

WsClient::~WsClient() {
    error_code ec;
    m_impl->ws.next_layer().close(ec);
}

void WsClient::send(const nlohmann::json& message) {
    error_code ec;
    m_impl->ws.text(true);
    m_impl->ws.write(asio::buffer(message.dump()), ec);
    if (ec) {
        throw Error(ErrorCode::unavailable, "lost the connection to pbd: " + ec.message());
    }
}

std::optional<nlohmann::json> WsClient::receive(Clock::time_point deadline) {
    auto& s = *m_impl;
    if (!s.reading) {
        s.reading = true;
        s.read_done = false;
        s.ws.async_read(s.buffer, [&s](error_code ec, std::size_t) {
            s.read_error = ec;
            s.read_done = true;
        });
    }
    if (!s.run_until(s.read_done, deadline)) {
        return std::nullopt;
    }
    s.reading = false;
    if (s.read_error) {
        const auto& reason = s.ws.reason();
        std::string why = s.read_error.message();
        if (s.read_error == websocket::error::closed) {
            why = "pbd closed the connection (" + std::to_string(reason.code) +
                  (reason.reason.empty() ? std::string() : " " + std::string(reason.reason)) + ")";
        }
        throw Error(ErrorCode::unavailable, "lost the connection to pbd: " + why,
                    {{"close_code", static_cast<int>(reason.code)}});
    }
    auto message = parse_json_or_discarded(beast::buffers_to_string(s.buffer.data()),
                                           {k_max_stored_json_depth});
    s.buffer.clear();
    if (message.is_discarded()) {
        throw Error(ErrorCode::internal, "pbd sent a WebSocket message that is not JSON");
    }
    return message;
}

}  // namespace pb::cli
