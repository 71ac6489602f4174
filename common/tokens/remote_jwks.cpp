#include "common/tokens/remote_jwks.hpp"

#include <chrono>

#include <httplib.h>

#include "common/core/error.hpp"
#include "common/core/json_parse.hpp"
#include "common/core/log.hpp"
#include "common/core/time_format.hpp"

namespace pb::tokens {
namespace {

using nlohmann::json;

struct SplitUrl {
    std::string origin;  // scheme://host[:port]
    std::string path;    // /…, with the query
};

SplitUrl split(const std::string& url) {
    const auto scheme_end = url.find("://");
    const auto path_at = url.find('/', scheme_end + 3);
    SplitUrl s;
    s.origin = url.substr(0, path_at);
    s.path = path_at == std::string::npos ? "/" : url.substr(path_at);
    return s;
}

bool has_kid(const std::vector<IssuerKey>& keys, const std::string& kid) {
    for (const auto& k : keys) {
        if (k.kid == kid) {
            return true;
        }
    }
    return false;
}

// GET `url` into a string of at most k_max_jwks_bytes, within `timeout_ms`.
std::string download(const std::string& url, std::int64_t timeout_ms) {
    const auto parts = split(url);
    httplib::Client client(parts.origin);
    if (!client.is_valid()) {
        throw Error(ErrorCode::invalid_argument, "not a usable URL");
    }
    const auto secs = timeout_ms / 1000;
    const auto usecs = (timeout_ms % 1000) * 1000;
    client.set_connection_timeout(secs, usecs);
    client.set_read_timeout(secs, usecs);
    client.set_write_timeout(secs, usecs);
    client.set_tcp_nodelay(true);
    client.set_follow_location(false);  // the URL the operator pinned, not another
    client.enable_server_certificate_verification(true);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    std::string body;
    std::string refusal;
    const auto res = client.Get(
        parts.path, httplib::Headers{{"Accept", "application/json"}},
        [&](const httplib::Response& r) {
            if (r.status != 200) {
                refusal = "answered HTTP " + std::to_string(r.status);
                return false;
            }
            if (r.has_header("Content-Length") &&
                std::stoull("0" + r.get_header_value("Content-Length")) > k_max_jwks_bytes) {
                refusal = "document larger than " + std::to_string(k_max_jwks_bytes) + " bytes";
                return false;
            }
            return true;
        },
        [&](const char* data, std::size_t size) {
            if (body.size() + size > k_max_jwks_bytes) {
                refusal = "document larger than " + std::to_string(k_max_jwks_bytes) + " bytes";
                return false;
            }
            if (std::chrono::steady_clock::now() > deadline) {
                refusal = "no complete answer within the timeout";
                return false;
            }
            body.append(data, size);
            return true;
        });
    if (!refusal.empty()) {
        throw Error(ErrorCode::unavailable, refusal);
    }
    if (!res) {
        throw Error(ErrorCode::unavailable, httplib::to_string(res.error()));
    }
    return body;
}

}  // namespace

void check_jwks_url(const std::string& url, bool allow_http) {
    const auto bad = [&](const std::string& why) {
        return Error(ErrorCode::invalid_argument, "jwks_url: " + why, {{"param", "jwks_url"}});
    };
    if (url.size() > 2048) {
        throw bad("longer than 2048 bytes");
    }
    for (const char c : url) {
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
            throw bad("holds a space or a control character");
        }
    }
    const bool https = url.starts_with("https://");
    if (!https && !url.starts_with("http://")) {
        throw bad("must start with https://");
    }
    if (!https && !allow_http) {
        throw bad("must be https:// (http:// only with allow_http, for tests on loopback)");
    }
    const auto host = split(url).origin.substr(https ? 8 : 7);
    if (host.empty() || host.find('@') != std::string::npos) {
        throw bad("needs a host (and no user name)");
    }
}

RemoteJwks::RemoteJwks(std::string url, bool allow_http, JwksSettings settings, const Clock& clock)
    : m_url(std::move(url)), m_allow_http(allow_http), m_settings(settings), m_clock(clock) {}

RemoteJwks::~RemoteJwks() = default;

std::shared_ptr<const std::vector<IssuerKey>> RemoteJwks::keys(
    const std::optional<std::string>& kid) {
    const auto now = m_clock.now();
    bool due = false;
    bool may_fetch = false;
    bool held_usable = false;
    {
        std::lock_guard lock(m_mutex);
        held_usable = m_keys && now - *m_fetched_at <= m_settings->max_stale_ms;
        due = !m_keys || now - *m_fetched_at >= m_settings->cache_ttl_ms ||
              (kid && !has_kid(*m_keys, *kid));
        may_fetch = !m_attempted_at || now - *m_attempted_at >= m_settings->min_refresh_ms;
    }
    if (due && may_fetch) {
        std::unique_lock fetch_lock(m_fetch_mutex, std::defer_lock);
        // With keys in hand a caller does not queue behind another's fetch.
        if (held_usable ? fetch_lock.try_lock() : (fetch_lock.lock(), true)) {
            bool still_may = false;
            {
                std::lock_guard lock(m_mutex);
                const auto at = m_clock.now();
                still_may = !m_attempted_at || at - *m_attempted_at >= m_settings->min_refresh_ms;
            }
            if (still_may) {
                fetch();
            }
        }
    }
    std::lock_guard lock(m_mutex);
    if (!m_keys || m_clock.now() - *m_fetched_at > m_settings->max_stale_ms) {
        return nullptr;
    }
    return m_keys;
}

void RemoteJwks::fetch() {
    {
        std::lock_guard lock(m_mutex);
        m_attempted_at = m_clock.now();
        ++m_fetches;
    }
    std::string error;
    std::vector<IssuerKey> parsed;
    try {
        const auto body = download(m_url, m_settings->timeout_ms);
        // The one strict parser: depth, duplicate names and UTF-8 are checked
        // before a tree is built.
        parsed = parse_jwk_set(parse_json(body, "JWKS document"), KeySource::fetched);
    } catch (const Error& e) {
        error = e.what();
    } catch (const std::exception& e) {
        error = std::string("unreadable answer: ") + e.what();
    }
    std::lock_guard lock(m_mutex);
    if (!error.empty()) {
        m_last_error = error;
        log::get("tokens")->warn("jwks_fetch_failed url={} error=\"{}\" (previous keys kept)",
                                 m_url, error);
        return;
    }
    m_keys = std::make_shared<const std::vector<IssuerKey>>(std::move(parsed));
    m_fetched_at = m_clock.now();
    m_last_error.clear();
}

json RemoteJwks::status() const {
    std::lock_guard lock(m_mutex);
    json kids = json::array();
    if (m_keys) {
        for (const auto& k : *m_keys) {
            kids.push_back(
                {{"kid", k.kid ? json(*k.kid) : json(nullptr)}, {"alg", to_string(k.key->alg())}});
        }
    }
    return {{"url", m_url},
            {"fetched_at", time_or_null(m_fetched_at)},
            {"keys", kids},
            {"last_error", m_last_error.empty() ? json(nullptr) : json(m_last_error)},
            {"fetches", m_fetches}};
}

}  // namespace pb::tokens
