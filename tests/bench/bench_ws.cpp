// pbd's WebSocket under load, from one process with async Beast clients.
//
//   pb_bench_ws fanout PORT API_KEY CLIENTS ROUNDS
//     CLIENTS sockets subscribe to "keys"; each round one more socket calls
//     keys.create, and every subscriber times the key.created event from the
//     moment the op was sent. Prints p50/p99/max over CLIENTS x ROUNDS deliveries.
//   pb_bench_ws idle PORT API_KEY CLIENTS PBD_PID
//     Opens CLIENTS sockets authenticated on upgrade, checks that each one is
//     served, then prints pbd's resident memory (VmRSS).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

struct Client : std::enable_shared_from_this<Client> {
    explicit Client(asio::io_context& ioc) : ws(ioc) {}
    websocket::stream<tcp::socket> ws;
    beast::flat_buffer buffer;
    bool open = false;
    bool failed = false;
    int answers = 0;
    int oks = 0;
    int events = 0;
    std::function<void(Client&, std::string_view)> on_message;

    void start(const tcp::endpoint& at, const std::string& key, std::function<void(Client&)> done) {
        ws.next_layer().async_connect(at, [self = shared_from_this(), key, done](error_code ec) {
            if (ec) {
                self->failed = true;
                return done(*self);
            }
            self->ws.set_option(websocket::stream_base::decorator(
                [key](websocket::request_type& req) { req.set("X-API-Key", key); }));
            self->ws.async_handshake("127.0.0.1", "/ws", [self, done](error_code hec) {
                self->failed = static_cast<bool>(hec);
                self->open = !hec;
                done(*self);
                if (!hec) {
                    self->read();
                }
            });
        });
    }

    void read() {
        ws.async_read(buffer, [self = shared_from_this()](error_code ec, std::size_t) {
            if (ec) {
                self->open = false;
                return;
            }
            const auto text = beast::buffers_to_string(self->buffer.data());
            self->buffer.clear();
            if (text.starts_with("{\"created_at\"")) {
                ++self->events;
            } else {
                ++self->answers;
                self->oks += text.find("\"ok\":true") != std::string::npos ? 1 : 0;
            }
            if (self->on_message) {
                self->on_message(*self, text);
            }
            self->read();
        });
    }

    // Queued sends, one write at a time.
    std::vector<std::string> out;
    bool writing = false;
    void send(std::string text) {
        out.push_back(std::move(text));
        if (!writing) {
            write_next();
        }
    }
    void write_next() {
        if (out.empty()) {
            writing = false;
            return;
        }
        writing = true;
        auto text = std::make_shared<std::string>(std::move(out.front()));
        out.erase(out.begin());
        ws.text(true);
        ws.async_write(asio::buffer(*text), [self = shared_from_this(), text](
                                                error_code, std::size_t) { self->write_next(); });
    }
};

// Runs `ioc` until `done()` or `limit` passes; false on the limit.
bool run_until(asio::io_context& ioc, const std::function<bool()>& done,
               std::chrono::milliseconds limit) {
    const auto deadline = Clock::now() + limit;
    ioc.restart();
    while (!done()) {
        if (Clock::now() >= deadline) {
            return false;
        }
        ioc.run_one_for(std::chrono::milliseconds(10));
    }
    return true;
}

// Opens `n` clients, at most `window` handshakes at a time (the listen
// backlog is finite). Returns them, open.
std::vector<std::shared_ptr<Client>> open_clients(asio::io_context& ioc, const tcp::endpoint& at,
                                                  const std::string& key, int n) {
    std::vector<std::shared_ptr<Client>> clients;
    int pending = 0;
    int finished = 0;
    int failed = 0;
    constexpr int window = 256;
    for (int i = 0; i < n; ++i) {
        clients.push_back(std::make_shared<Client>(ioc));
        ++pending;
        clients.back()->start(at, key, [&](Client& c) {
            --pending;
            ++finished;
            failed += c.failed ? 1 : 0;
        });
        if (pending >= window) {
            run_until(
                ioc, [&] { return pending < window / 2; }, std::chrono::seconds(30));
        }
    }
    run_until(
        ioc, [&] { return finished == n; }, std::chrono::seconds(60));
    if (failed > 0 || finished != n) {
        std::cerr << "could not open " << (n - finished + failed) << " of " << n << " WebSockets\n";
        std::exit(1);
    }
    return clients;
}

long rss_kib(int pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.starts_with("VmRSS:")) {
            return std::stol(line.substr(6));
        }
    }
    return -1;
}

double percentile(std::vector<double>& v, double p) {
    std::sort(v.begin(), v.end());
    const auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(i, v.size() - 1)];
}

int fanout(const tcp::endpoint& at, const std::string& key, int n, int rounds) {
    asio::io_context ioc{1};
    auto subscribers = open_clients(ioc, at, key, n);
    for (auto& c : subscribers) {
        c->send(R"({"id":1,"op":"subscribe","args":{"topics":["keys"]}})");
    }
    if (!run_until(
            ioc,
            [&] {
                return std::all_of(subscribers.begin(), subscribers.end(),
                                   [](const auto& c) { return c->answers >= 1; });
            },
            std::chrono::seconds(30))) {
        std::cerr << "subscriptions were not all answered\n";
        return 1;
    }
    auto driver = open_clients(ioc, at, key, 1).front();
    std::vector<double> latencies;
    latencies.reserve(static_cast<std::size_t>(n) * rounds);
    Clock::time_point sent;
    for (auto& c : subscribers) {
        c->on_message = [&](Client&, std::string_view text) {
            if (text.starts_with("{\"created_at\"")) {
                latencies.push_back(
                    std::chrono::duration<double, std::milli>(Clock::now() - sent).count());
            }
        };
    }
    for (int r = 0; r < rounds; ++r) {
        const auto before = latencies.size();
        sent = Clock::now();
        driver->send(R"({"id":2,"op":"keys.create","args":{"owner":"bench"}})");
        if (!run_until(
                ioc, [&] { return latencies.size() == before + static_cast<std::size_t>(n); },
                std::chrono::seconds(10))) {
            std::cerr << "round " << r << ": only " << latencies.size() - before << " of " << n
                      << " deliveries\n";
            return 1;
        }
        // Let the round's tail settle before the next update.
        run_until(
            ioc, [] { return false; }, std::chrono::milliseconds(50));
    }
    const auto count = latencies.size();
    const double p50 = percentile(latencies, 0.50);
    const double p99 = percentile(latencies, 0.99);
    const double max = latencies.back();
    std::printf(
        "fan-out: %d subscribers x %d updates = %zu deliveries; from keys.create sent to event "
        "received: p50 %.2f ms, p99 %.2f ms, max %.2f ms (target p99 < 50 ms)\n",
        n, rounds, count, p50, p99, max);
    return p99 < 50.0 ? 0 : 2;
}

int idle(const tcp::endpoint& at, const std::string& key, int n, int pid) {
    asio::io_context ioc{1};
    const long before = rss_kib(pid);
    auto clients = open_clients(ioc, at, key, n);
    // Each socket is served (an op answered), then left idle.
    for (auto& c : clients) {
        c->send(R"({"id":1,"op":"health","args":{}})");
    }
    if (!run_until(
            ioc,
            [&] {
                return std::all_of(clients.begin(), clients.end(),
                                   [](const auto& c) { return c->answers >= 1; });
            },
            std::chrono::seconds(120))) {
        std::cerr << "not every socket was answered\n";
        return 1;
    }
    run_until(
        ioc, [] { return false; }, std::chrono::seconds(2));
    const long after = rss_kib(pid);
    const auto open =
        std::count_if(clients.begin(), clients.end(), [](const auto& c) { return c->open; });
    std::printf(
        "idle: %ld authenticated WebSockets open, each served one op; pbd RSS %.1f MiB (%.1f MiB "
        "before them, %.1f "
        "KiB per connection) (target < 200 MiB)\n",
        static_cast<long>(open), after / 1024.0, before / 1024.0,
        static_cast<double>(after - before) / static_cast<double>(n));
    return open == n && after < 200 * 1024 ? 0 : 2;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 6) {
        std::cerr << "usage: pb_bench_ws fanout PORT KEY CLIENTS ROUNDS\n"
                     "       pb_bench_ws idle PORT KEY CLIENTS PBD_PID\n";
        return 64;
    }
    const std::string mode = argv[1];
    const tcp::endpoint at(asio::ip::make_address("127.0.0.1"),
                           static_cast<unsigned short>(std::stoi(argv[2])));
    const std::string key = argv[3];
    const int n = std::stoi(argv[4]);
    const int last = std::stoi(argv[5]);
    return mode == "fanout" ? fanout(at, key, n, last) : idle(at, key, n, last);
}
