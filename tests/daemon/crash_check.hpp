#pragma once

// The checking side of the crash-consistency test: after pbd restarts, every
// write a ledger (crash_writer.hpp) holds as acknowledged must be there, and a
// write that got no answer may be there or not, but nothing beyond it.

#include <cstdint>
#include <string>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "tests/daemon/crash_writer.hpp"
#include "tests/daemon/daemon_fixture.hpp"

namespace pb::test::crash {

// How far a ledger has been checked: acknowledged writes before these indexes
// were found after an earlier restart (states and the newest secret versions
// are checked in full every time).
struct Checked {
    std::size_t keys = 0;
    std::size_t bans = 0;
    std::vector<std::size_t> secret_versions;
};

namespace detail {

inline std::string answer(const httplib::Result& res) {
    return res ? "HTTP " + std::to_string(res->status) + " " + res->body.substr(0, 300)
               : std::string("no answer");
}

inline void check_state(TrackedState& s, httplib::Client& c, const httplib::Headers& h,
                        std::vector<std::string>& problems) {
    const auto res = c.Get("/v1/states/" + s.id, h);
    if (status_of(res) == 404 && !s.registered) {
        s.in_flight = false;  // the unanswered register did not commit
        return;
    }
    const auto j = body_json(res);
    if (status_of(res) != 200 || !j.is_object() || !j.contains("version")) {
        problems.push_back("state " + s.id + " (acknowledged version " + std::to_string(s.version) +
                           "): " + answer(res));
        return;
    }
    const auto version = j["version"].get<std::int64_t>();
    const auto most = s.version + (s.in_flight ? 1 : 0);
    if (version < s.version || version > most) {
        problems.push_back("state " + s.id + " is at version " + std::to_string(version) +
                           ", acknowledged " + std::to_string(s.version) +
                           (s.in_flight ? " (one more unanswered)" : ""));
        return;
    }
    if (s.registered) {
        // The acknowledged version's data, from the current state or its history.
        nlohmann::json data = j.value("data", nlohmann::json());
        if (version != s.version) {
            const auto hist = body_json(c.Get(
                "/v1/states/" + s.id + "/history?limit=" + std::to_string(version - s.version + 1),
                h));
            data = nullptr;
            const auto entries = hist.is_object() ? hist.value("history", nlohmann::json::array())
                                                  : nlohmann::json::array();
            for (const auto& e : entries) {
                if (e.value("version", std::int64_t{0}) == s.version) {
                    data = e.value("data", nlohmann::json());
                }
            }
        }
        if (data != s.data) {
            problems.push_back("state " + s.id + " version " + std::to_string(s.version) +
                               " holds " + data.dump() + ", acknowledged " + s.data.dump());
            return;
        }
    }
    // What is there now is durable: the next check starts from it.
    s.registered = true;
    s.version = version;
    s.data = j.value("data", nlohmann::json());
    s.in_flight = false;
}

inline void check_secret(TrackedSecret& s, std::size_t& checked, httplib::Client& c,
                         const httplib::Headers& h, std::vector<std::string>& problems) {
    for (; checked < s.acked.size(); ++checked) {
        const auto& [version, value] = s.acked[checked];
        const auto res = c.Get("/v1/secrets/" + s.path + "?version=" + std::to_string(version), h);
        const auto j = body_json(res);
        const auto data = j.is_object() ? j.value("data", nlohmann::json()) : nlohmann::json();
        const bool same = data.is_object() && data.value("v", "") == value;
        if (status_of(res) != 200 || !same) {
            problems.push_back("secret " + s.path + " version " + std::to_string(version) + ": " +
                               answer(res));
        }
    }
    const auto res = c.Get("/v1/secrets/" + s.path, h);
    if (status_of(res) == 404 && s.newest == 0) {
        s.in_flight = false;
        return;
    }
    const auto j = body_json(res);
    const auto newest = j.is_object() ? j.value("version", std::int64_t{0}) : 0;
    const auto acked = s.acked.empty() ? 0 : s.acked.back().first;
    if (status_of(res) != 200 || newest < acked || newest > s.newest + (s.in_flight ? 1 : 0)) {
        problems.push_back("secret " + s.path + " newest version: " + answer(res) +
                           "; acknowledged " + std::to_string(acked) +
                           (s.in_flight ? " (one more unanswered)" : ""));
        return;
    }
    s.newest = newest;
    s.in_flight = false;
}

}  // namespace detail

// Checks through pbd (`c`, as `admin`) the writes of `l` not yet checked
// (`done`): each key verifies, each ban is in force, each secret version reads
// back with its value, each state is at its acknowledged version (or the one
// unanswered write past it) with the acknowledged data. Returns what is wrong.
inline std::vector<std::string> check_ledger(Ledger& l, Checked& done, httplib::Client& c,
                                             const std::string& admin) {
    std::vector<std::string> problems;
    const auto h = bearer(admin);
    for (; done.keys < l.keys.size(); ++done.keys) {
        const auto& key = l.keys[done.keys];
        const auto res =
            c.Post("/v1/keys/verify", h, nlohmann::json{{"key", key}}.dump(), "application/json");
        const auto j = body_json(res);
        if (status_of(res) != 200 || !j.is_object() || j.value("valid", false) != true) {
            problems.push_back("key " + key.substr(0, 12) +
                               "… no longer verifies: " + detail::answer(res));
        }
    }
    for (; done.bans < l.bans.size(); ++done.bans) {
        const auto& target = l.bans[done.bans];
        const auto res = c.Get("/v1/bans/check/" + target, h);
        const auto j = body_json(res);
        if (status_of(res) != 200 || !j.is_object() || j.value("banned", false) != true) {
            problems.push_back("ban on " + target + " is gone: " + detail::answer(res));
        }
    }
    for (auto& s : l.states) {
        detail::check_state(s, c, h, problems);
    }
    done.secret_versions.resize(l.secrets.size());
    for (std::size_t i = 0; i < l.secrets.size(); ++i) {
        detail::check_secret(l.secrets[i], done.secret_versions[i], c, h, problems);
    }
    return problems;
}

}  // namespace pb::test::crash
