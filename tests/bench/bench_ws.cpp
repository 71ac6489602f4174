// pbd's WebSocket under load, from one process: every socket on one thread
// (pbctl's WsClient, cli/ws_client.hpp, on one shared WsLoop).
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
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/ws_client.hpp"

namespace {

using pb::cli::WsClient;
using pb::cli::WsLoop;
using pb::cli::WsMessage;
using Clock = std::chrono::steady_clock;

bool is_event(const WsMessage& m) {
    return m.payload.starts_with("{\"created_at\"");
}

// Opens `n` clients on `loop`, authenticated on upgrade, one after another.
// Returns them, open (exits when one does not open).
std::vector<std::unique_ptr<WsClient>> open_clients(WsLoop& loop, const std::string& port,
                                                    const std::string& key, int n) {
    std::vector<std::unique_ptr<WsClient>> clients;
    clients.reserve(static_cast<std::size_t>(n));
    const pb::cli::WsTarget target{
        .host = "127.0.0.1", .port = port, .headers = {{"X-API-Key", key}}};
    for (int i = 0; i < n; ++i) {
        clients.push_back(
            std::make_unique<WsClient>(loop, target, Clock::now() + std::chrono::seconds(30)));
        if (!clients.back()->upgrade().ok) {
            std::cerr << "could not open WebSocket " << i + 1 << " of " << n << ": "
                      << clients.back()->upgrade().error << "\n";
            std::exit(1);
        }
    }
    return clients;
}

// Runs `loop` until every client has a message waiting, for up to `limit`.
bool all_answered(WsLoop& loop, const std::vector<std::unique_ptr<WsClient>>& clients,
                  std::chrono::seconds limit) {
    const auto expected = loop.messages_received() + clients.size();
    loop.run_until([&] { return loop.messages_received() >= expected; }, Clock::now() + limit);
    return std::all_of(clients.begin(), clients.end(),
                       [](const auto& c) { return c->waiting() >= 1; });
}

// Reads every message waiting on `c`.
std::vector<WsMessage> take_all(WsClient& c) {
    std::vector<WsMessage> out;
    while (c.waiting() > 0) {
        out.push_back(c.read(Clock::now()));
    }
    return out;
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

int fanout(const std::string& port, const std::string& key, int n, int rounds) {
    WsLoop loop;
    auto subscribers = open_clients(loop, port, key, n);
    for (auto& c : subscribers) {
        c->send_text(R"({"id":1,"op":"subscribe","args":{"topics":["keys"]}})");
    }
    if (!all_answered(loop, subscribers, std::chrono::seconds(30))) {
        std::cerr << "subscriptions were not all answered\n";
        return 1;
    }
    for (auto& c : subscribers) {
        take_all(*c);
    }
    auto driver = std::move(open_clients(loop, port, key, 1).front());
    std::vector<double> latencies;
    latencies.reserve(static_cast<std::size_t>(n) * rounds);
    for (int r = 0; r < rounds; ++r) {
        // Each subscriber's event and the driver's answer; each message is
        // stamped as it arrives, so reading them afterwards adds nothing.
        const auto expected = loop.messages_received() + static_cast<std::uint64_t>(n) + 1;
        const auto sent = Clock::now();
        driver->send_text(R"({"id":2,"op":"keys.create","args":{"owner":"bench"}})");
        loop.run_until([&] { return loop.messages_received() >= expected; },
                       Clock::now() + std::chrono::seconds(10));
        std::size_t delivered = 0;
        for (auto& c : subscribers) {
            for (const auto& m : take_all(*c)) {
                if (is_event(m)) {
                    latencies.push_back(
                        std::chrono::duration<double, std::milli>(m.received_at - sent).count());
                    ++delivered;
                }
            }
        }
        take_all(*driver);
        if (delivered != static_cast<std::size_t>(n)) {
            std::cerr << "round " << r << ": only " << delivered << " of " << n << " deliveries\n";
            return 1;
        }
        // Let the round's tail settle before the next update.
        loop.run_until([] { return false; }, Clock::now() + std::chrono::milliseconds(50));
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

int idle(const std::string& port, const std::string& key, int n, int pid) {
    WsLoop loop;
    const long before = rss_kib(pid);
    auto clients = open_clients(loop, port, key, n);
    // Each socket is served (an op answered), then left idle.
    for (auto& c : clients) {
        c->send_text(R"({"id":1,"op":"health","args":{}})");
    }
    if (!all_answered(loop, clients, std::chrono::seconds(120))) {
        std::cerr << "not every socket was answered\n";
        return 1;
    }
    loop.run_until([] { return false; }, Clock::now() + std::chrono::seconds(2));
    const long after = rss_kib(pid);
    const auto open =
        std::count_if(clients.begin(), clients.end(), [](const auto& c) { return c->is_open(); });
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
    const std::string port = argv[2];
    const std::string key = argv[3];
    const int n = std::stoi(argv[4]);
    const int last = std::stoi(argv[5]);
    return mode == "fanout" ? fanout(port, key, n, last) : idle(port, key, n, last);
}
