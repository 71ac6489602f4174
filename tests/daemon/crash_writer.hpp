#pragma once

// The writing side of the crash-consistency test (crash_consistency_test.cpp):
// a writer thread sends keys.create, states.register/update, bans.add and
// secrets.put to pbd over HTTP until pbd dies under it, and notes in its own
// ledger every write pbd acknowledged (a whole 2xx answer) and the one write
// it sent that got no answer. crash_check.hpp reads the ledgers after restart.

#include <array>
#include <atomic>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "tests/daemon/daemon_fixture.hpp"

namespace pb::test::crash {

enum class Kind { key, state, ban, secret };
inline constexpr std::array k_kinds{Kind::key, Kind::state, Kind::ban, Kind::secret};

inline const char* kind_name(Kind k) {
    switch (k) {
        case Kind::key:
            return "keys";
        case Kind::state:
            return "state versions";
        case Kind::ban:
            return "bans";
        case Kind::secret:
            return "secret versions";
    }
    return "?";
}

// A state only this writer changes, so its version moves by one per write.
struct TrackedState {
    std::string id;
    bool registered = false;   // acknowledged, or seen after a restart
    std::int64_t version = 0;  // the newest version acknowledged or seen
    nlohmann::json data;       // that version's data
    bool in_flight = false;    // a write got no answer: it may or may not be there
};

// A secret path only this writer puts to.
struct TrackedSecret {
    std::string path;
    std::vector<std::pair<std::int64_t, std::string>> acked;  // (version, value of field v)
    std::int64_t newest = 0;  // the newest version acknowledged or seen
    bool in_flight = false;
};

// One writer's record. Only its thread touches it while a round runs; the
// check reads and updates it between rounds.
struct Ledger {
    explicit Ledger(int index) : writer(index) {
        for (int i = 0; i < 6; ++i) {
            states.push_back({.id = "crash.w" + std::to_string(writer) + ".s" + std::to_string(i)});
            secrets.push_back(
                {.path = "crash/w" + std::to_string(writer) + "/p" + std::to_string(i)});
        }
    }

    int writer;
    std::vector<std::string> keys;  // the secret texts of acknowledged keys
    std::vector<std::string> bans;  // acknowledged ban targets
    std::vector<TrackedState> states;
    std::vector<TrackedSecret> secrets;
    std::array<std::int64_t, 4> acked{};       // acknowledged writes, by Kind
    std::array<std::int64_t, 4> unanswered{};  // writes that got no answer, by Kind
    std::vector<std::string> unexpected;       // answers neither a success nor a dead pbd
    std::int64_t serial = 0;                   // makes names, addresses and values unique
};

namespace detail {

enum class Outcome { acked, unanswered, refused };

inline Outcome refused(Ledger& l, const char* op, const httplib::Result& res) {
    l.unexpected.push_back(std::string(op) + ": HTTP " + std::to_string(res->status) + " " +
                           res->body.substr(0, 300));
    return Outcome::refused;
}

inline Outcome write_key(Ledger& l, httplib::Client& c, const httplib::Headers& h) {
    const nlohmann::json body{
        {"owner", "crash"},
        {"name", "w" + std::to_string(l.writer) + "-" + std::to_string(++l.serial)}};
    const auto res = c.Post("/v1/keys", h, body.dump(), "application/json");
    if (!res) {
        return Outcome::unanswered;
    }
    const auto j = body_json(res);
    if (res->status != 201 || !j.is_object() || !j.contains("key")) {
        return refused(l, "keys.create", res);
    }
    l.keys.push_back(j["key"].get<std::string>());
    return Outcome::acked;
}

inline Outcome write_state(Ledger& l, httplib::Client& c, const httplib::Headers& h,
                           std::mt19937_64& rng) {
    auto& s = l.states[rng() % l.states.size()];
    const nlohmann::json data{{"writer", l.writer}, {"n", ++l.serial}, {"pad", rng() % 1000000}};
    const auto res =
        s.registered
            ? c.Patch("/v1/states/" + s.id, h,
                      nlohmann::json{{"data", data}, {"replace", true}}.dump(), "application/json")
            : c.Post("/v1/states", h,
                     nlohmann::json{{"id", s.id}, {"type", "resource"}, {"data", data}}.dump(),
                     "application/json");
    if (!res) {
        s.in_flight = true;
        return Outcome::unanswered;
    }
    const auto j = body_json(res);
    const auto want = s.registered ? 200 : 201;
    if (res->status != want || !j.is_object() || !j.contains("version")) {
        return refused(l, s.registered ? "states.update" : "states.register", res);
    }
    if (j["version"] != s.version + 1 || j.value("data", nlohmann::json()) != data) {
        l.unexpected.push_back("state " + s.id + " answered " + j.dump() + " after version " +
                               std::to_string(s.version));
    }
    s.registered = true;
    s.version = j["version"].get<std::int64_t>();
    s.data = j.value("data", nlohmann::json());
    return Outcome::acked;
}

inline Outcome write_ban(Ledger& l, httplib::Client& c, const httplib::Headers& h) {
    const auto n = ++l.serial;
    const auto target = "10." + std::to_string(l.writer) + "." + std::to_string((n / 256) % 256) +
                        "." + std::to_string(n % 256);
    const auto res =
        c.Post("/v1/bans", h, nlohmann::json{{"target", target}, {"reason", "crash test"}}.dump(),
               "application/json");
    if (!res) {
        return Outcome::unanswered;
    }
    if (res->status != 201) {
        return refused(l, "bans.add", res);
    }
    l.bans.push_back(target);
    return Outcome::acked;
}

inline Outcome write_secret(Ledger& l, httplib::Client& c, const httplib::Headers& h,
                            std::mt19937_64& rng) {
    auto& s = l.secrets[rng() % l.secrets.size()];
    const auto value = "w" + std::to_string(l.writer) + "-" + std::to_string(++l.serial) + "-" +
                       std::to_string(rng());
    const auto res = c.Put("/v1/secrets/" + s.path, h,
                           nlohmann::json{{"data", {{"v", value}}}}.dump(), "application/json");
    if (!res) {
        s.in_flight = true;
        return Outcome::unanswered;
    }
    const auto j = body_json(res);
    if (res->status != 200 || !j.is_object() || !j.contains("version")) {
        return refused(l, "secrets.put", res);
    }
    const auto version = j["version"].get<std::int64_t>();
    if (version <= s.newest) {
        l.unexpected.push_back("secret " + s.path + " answered version " + std::to_string(version) +
                               " after version " + std::to_string(s.newest));
    }
    s.acked.emplace_back(version, value);
    s.newest = version;
    return Outcome::acked;
}

inline void write_loop(Ledger& l, httplib::Client& c, const httplib::Headers& h,
                       std::mt19937_64& rng, const std::atomic<bool>& stop) {
    while (!stop.load()) {
        const auto kind = k_kinds[rng() % k_kinds.size()];
        Outcome o = Outcome::refused;
        switch (kind) {
            case Kind::key:
                o = write_key(l, c, h);
                break;
            case Kind::state:
                o = write_state(l, c, h, rng);
                break;
            case Kind::ban:
                o = write_ban(l, c, h);
                break;
            case Kind::secret:
                o = write_secret(l, c, h, rng);
                break;
        }
        const auto k = static_cast<std::size_t>(kind);
        if (o == Outcome::acked) {
            ++l.acked[k];
        } else if (o == Outcome::unanswered) {
            ++l.unanswered[k];
            return;
        }
    }
}

}  // namespace detail

// Writes at random (kind and target from `seed`) through pbd on `port` until a
// write gets no answer (pbd died) or `stop` is set. An answer that is neither
// success nor silence is noted in l.unexpected and writing goes on.
inline void write_until_pbd_dies(Ledger& l, int port, const std::string& admin, std::uint64_t seed,
                                 const std::atomic<bool>& stop) {
    httplib::Client c("127.0.0.1", port);
    c.set_keep_alive(true);
    c.set_tcp_nodelay(true);
    c.set_connection_timeout(5, 0);
    c.set_read_timeout(10, 0);
    const auto h = bearer(admin);
    std::mt19937_64 rng(seed);
    // An exception must not leave the thread (std::terminate): it is a finding.
    try {
        detail::write_loop(l, c, h, rng, stop);
    } catch (const std::exception& e) {
        l.unexpected.push_back(std::string("writer ") + std::to_string(l.writer) + ": " + e.what());
    }
}

}  // namespace pb::test::crash
