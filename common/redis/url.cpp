#include "common/redis/url.hpp"

#include <charconv>

#include "common/core/error.hpp"
#include "common/core/percent.hpp"

namespace pb::redis {
namespace {

[[noreturn]] void bad_url(const std::string& why) {
    throw Error(ErrorCode::invalid_argument, "redis.url: " + why, {{"key", "redis.url"}});
}

int parse_number(std::string_view text, int low, int high, std::string_view what) {
    int v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size() || v < low || v > high) {
        bad_url(std::string(what) + " must be a number from " + std::to_string(low) + " to " +
                std::to_string(high));
    }
    return v;
}

// Userinfo may hold percent-encoded characters ("p%40ss" for "p@ss").
std::string percent_decoded(std::string_view text, std::string_view what) {
    auto out = percent_decode(text);
    if (!out) {
        bad_url("bad percent-encoding in the " + std::string(what));
    }
    return *out;
}

// "db=3" from a query string; other parameters are refused (a typo should not
// pass silently).
int db_from_query(std::string_view query) {
    int db = 0;
    while (!query.empty()) {
        const auto amp = query.find('&');
        const auto item = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        if (item.starts_with("db=")) {
            db = parse_number(item.substr(3), 0, 1 << 16, "the database number");
        } else if (!item.empty()) {
            bad_url("unknown parameter \"" + std::string(item.substr(0, item.find('='))) +
                    "\" (only db=N)");
        }
    }
    return db;
}

}  // namespace

std::string RedisUrl::location() const {
    if (!socket_path.empty()) {
        return "unix:" + socket_path + "/" + std::to_string(db);
    }
    const bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port) + "/" + std::to_string(db);
}

RedisUrl parse_redis_url(std::string_view url) {
    RedisUrl out;
    if (url.starts_with("rediss://")) {
        bad_url(
            "TLS (rediss://) is not supported: Debian 12's hiredis 0.14 has no TLS; reach Redis "
            "over loopback, a Unix socket or a TLS tunnel (stunnel, spiped)");
    }
    std::string_view rest;
    bool unix_socket = false;
    if (url.starts_with("redis://")) {
        rest = url.substr(8);
    } else if (url.starts_with("unix://")) {
        rest = url.substr(7);
        unix_socket = true;
    } else if (url.starts_with("redis+unix://")) {
        rest = url.substr(13);
        unix_socket = true;
    } else {
        bad_url("expected redis://host:port/db or unix:///path.sock");
    }
    if (unix_socket) {
        const auto q = rest.find('?');
        out.socket_path = std::string(rest.substr(0, q));
        if (out.socket_path.empty() || out.socket_path.front() != '/') {
            bad_url("a Unix socket needs an absolute path: unix:///run/redis/redis.sock");
        }
        out.db = q == std::string_view::npos ? 0 : db_from_query(rest.substr(q + 1));
        return out;
    }
    const auto q = rest.find('?');
    const auto query = q == std::string_view::npos ? std::string_view{} : rest.substr(q + 1);
    rest = rest.substr(0, q);
    const auto slash = rest.find('/');
    auto authority = rest.substr(0, slash);
    const auto path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
    if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
        const auto userinfo = authority.substr(0, at);
        authority = authority.substr(at + 1);
        const auto colon = userinfo.find(':');
        out.user = percent_decoded(userinfo.substr(0, colon), "user name");
        // redis://user@host names a user without a password (as redis-py
        // reads it); a password alone is redis://:secret@host.
        if (colon != std::string_view::npos) {
            out.password = percent_decoded(userinfo.substr(colon + 1), "password");
        }
    }
    std::string_view port;
    if (authority.starts_with('[')) {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) {
            bad_url("unclosed [ in the host");
        }
        out.host = std::string(authority.substr(1, close - 1));
        const auto after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') {
                bad_url("expected :port after the [address]");
            }
            port = after.substr(1);
        }
    } else {
        const auto colon = authority.find(':');
        out.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) {
            port = authority.substr(colon + 1);
        }
    }
    if (out.host.empty()) {
        bad_url("no host (redis://127.0.0.1:6379/0)");
    }
    if (!port.empty()) {
        out.port = parse_number(port, 1, 65535, "the port");
    }
    if (!path.empty()) {
        out.db = parse_number(path, 0, 1 << 16, "the database number");
    }
    if (!query.empty()) {
        const int db = db_from_query(query);
        if (db != 0) {
            out.db = db;
        }
    }
    return out;
}

}  // namespace pb::redis
