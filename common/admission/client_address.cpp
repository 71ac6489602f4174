#include "common/admission/client_address.hpp"

#include "common/core/http_text.hpp"
namespace pb::admission {
namespace {

// "203.0.113.7:5123", "[2001:db8::1]:443" -> the address part.
std::string_view host_of(std::string_view remote) {
    if (!remote.empty() && remote.front() == '[') {
        return remote.substr(1, remote.find(']') - 1);
    }
    const auto colon = remote.rfind(':');
    if (colon != std::string_view::npos && remote.find(':') == colon) {
        return remote.substr(0, colon);
    }
    return remote;
}

}  // namespace

TrustedProxies::TrustedProxies(std::string_view rest) {
    while (!rest.empty()) {
        const auto comma = rest.find(',');
        const auto item = trim_ows(rest.substr(0, comma));
        if (!item.empty()) {
            m_trusted.push_back(limits::parse_cidr(item));
        }
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    }
}

bool TrustedProxies::trusted(const limits::IpAddress& address) const {
    for (const auto& r : m_trusted) {
        if (r.contains(address)) {
            return true;
        }
    }
    return false;
}

std::optional<limits::IpAddress> TrustedProxies::client(std::string_view peer_text,
                                                        std::string_view xff,
                                                        std::string_view real_ip) const {
    auto peer = limits::parse_ip(host_of(peer_text));
    if (!peer || !trusted(*peer)) {
        return peer;
    }
    // Walk X-Forwarded-For from the right: the first address a trusted proxy did
    // not add is the client (anything further left is the client's own claim).
    while (!xff.empty()) {
        const auto comma = xff.rfind(',');
        const auto item = trim_ows(comma == std::string_view::npos ? xff : xff.substr(comma + 1));
        xff = comma == std::string_view::npos ? std::string_view{} : xff.substr(0, comma);
        auto hop = limits::parse_ip(item);
        if (!hop) {
            return peer;  // garbage in the chain: trust only what we saw
        }
        peer = hop;
        if (!trusted(*hop)) {
            return hop;
        }
    }
    if (auto real = limits::parse_ip(trim_ows(real_ip))) {
        return real;
    }
    return peer;
}

}  // namespace pb::admission
