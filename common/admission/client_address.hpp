#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "common/limits/cidr.hpp"

namespace pb::admission {

// Who the client is, given the peer and what proxies say: the peer, or, when
// the peer is a trusted proxy (server.trusted_proxies), the nearest untrusted
// address of X-Forwarded-For (else X-Real-IP). Immutable; thread-safe.
class TrustedProxies {
  public:
    // `ranges` is comma-separated addresses or CIDR ranges (empty: trust
    // none). Error(invalid_argument) when one does not parse.
    explicit TrustedProxies(std::string_view ranges);

    // `peer` as "address:port", "[v6]:port" or a bare address; the headers
    // as received (empty when absent). nullopt when the peer is no address.
    std::optional<limits::IpAddress> client(std::string_view peer, std::string_view forwarded_for,
                                            std::string_view real_ip) const;

  private:
    bool trusted(const limits::IpAddress& address) const;

    std::vector<limits::IpRange> m_trusted;
};

}  // namespace pb::admission
