#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/core/clock.hpp"
#include "common/core/swappable.hpp"
#include "common/tokens/jwk_set.hpp"

namespace pb::tokens {

// How pb follows an issuer's JWKS URL (tokens.jwks_* settings).
struct JwksSettings {
    std::int64_t min_refresh_ms = 30 * 1000;         // at most one fetch per this
    std::int64_t cache_ttl_ms = 10 * 60 * 1000;      // fetched keys are refreshed when older
    std::int64_t max_stale_ms = 24LL * 3600 * 1000;  // and stop verifying when older than this
    std::int64_t timeout_ms = 5 * 1000;              // one fetch, connection to last byte

    bool operator==(const JwksSettings&) const = default;
};

// Checks a JWKS URL: https:// (http:// only with `allow_http`), a host, at
// most 2048 bytes. Error(invalid_argument).
void check_jwks_url(const std::string& url, bool allow_http);

// The keys an issuer publishes at a URL, fetched on demand and cached (cpp-httplib
// stays in the .cpp). A fetch happens when no keys are held yet, when they are
// older than cache_ttl, or when a token names a kid they lack, but never twice
// within min_refresh, so tokens with made-up kids cannot make pb hammer the
// issuer. A failed fetch or a bad document (too large, malformed, a private
// key) keeps the previous keys, which verify until max_stale after their
// fetch. A fetch holds its caller at most timeout_ms. Thread-safe.
class RemoteJwks {
  public:
    RemoteJwks(std::string url, bool allow_http, JwksSettings settings, const Clock& clock);
    ~RemoteJwks();

    // The keys to check a token with; `kid` is the token's, if it names one.
    // Empty when none were ever fetched or the last good fetch is too old.
    std::shared_ptr<const std::vector<IssuerKey>> keys(const std::optional<std::string>& kid);

    // {"url","fetched_at","keys","last_error","fetches"} for issuers show.
    nlohmann::json status() const;

    // Follows the URL under new tokens.jwks_* settings from now on; the keys
    // held stay.
    void reload(JwksSettings settings) { m_settings.swap(settings); }
    const JwksSettings& settings() const { return m_settings.get(); }

    const std::string& url() const { return m_url; }
    bool allow_http() const { return m_allow_http; }

  private:
    void fetch();

    const std::string m_url;
    const bool m_allow_http;
    Swappable<JwksSettings> m_settings;
    const Clock& m_clock;

    mutable std::mutex m_mutex;  // guards the fields below
    std::shared_ptr<const std::vector<IssuerKey>> m_keys;
    std::optional<UnixMillis> m_fetched_at;  // the last good fetch
    std::optional<UnixMillis> m_attempted_at;
    std::string m_last_error;
    std::int64_t m_fetches = 0;

    std::mutex m_fetch_mutex;  // one fetch at a time
};

}  // namespace pb::tokens
