#include "common/limits/cidr.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <array>
#include <charconv>
#include <cstring>

#include "common/core/error.hpp"

namespace pb::limits {
namespace {

constexpr std::size_t k_max_text = 64;
constexpr U128 k_max_v4{0, 0xFFFF'FFFFULL};
constexpr U128 k_max_v6{~0ULL, ~0ULL};

std::uint64_t load_be64(const unsigned char* p) {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) {
        v = (v << 8) | p[i];
    }
    return v;
}

void store_be64(std::uint64_t v, unsigned char* p) {
    for (int i = 7; i >= 0; --i) {
        p[i] = static_cast<unsigned char>(v & 0xFF);
        v >>= 8;
    }
}

int max_prefix(IpFamily f) {
    return f == IpFamily::v4 ? 32 : 128;
}

// The mask of the host bits below `prefix`.
U128 host_mask(IpFamily family, int prefix) {
    const int host = max_prefix(family) - prefix;
    auto low_ones = [](int n) { return n >= 64 ? ~0ULL : ((1ULL << n) - 1); };
    if (host <= 64) {
        return U128{0, low_ones(host)};
    }
    return U128{low_ones(host - 64), ~0ULL};
}

U128 increment(U128 v) {
    return v.lo == ~0ULL ? U128{v.hi + 1, 0} : U128{v.hi, v.lo + 1};
}

[[noreturn]] void bad_address(std::string_view text) {
    const std::string shown(text.substr(0, k_max_text));
    throw Error(ErrorCode::invalid_argument, "\"" + shown + "\" is not an IPv4 or IPv6 address",
                {{"value", shown}});
}

}  // namespace

std::optional<IpAddress> parse_ip(std::string_view text) {
    if (text.empty() || text.size() >= k_max_text) {
        return std::nullopt;
    }
    std::array<char, k_max_text> buf{};
    std::memcpy(buf.data(), text.data(), text.size());
    if (text.find(':') == std::string_view::npos) {
        in_addr v4{};
        if (inet_pton(AF_INET, buf.data(), &v4) != 1) {
            return std::nullopt;
        }
        return IpAddress{IpFamily::v4, U128{0, ntohl(v4.s_addr)}};
    }
    std::array<unsigned char, 16> v6{};
    if (inet_pton(AF_INET6, buf.data(), v6.data()) != 1) {
        return std::nullopt;
    }
    const U128 bits{load_be64(v6.data()), load_be64(v6.data() + 8)};
    if (bits.hi == 0 && (bits.lo >> 32) == 0xFFFF) {
        return IpAddress{IpFamily::v4, U128{0, bits.lo & 0xFFFF'FFFFULL}};  // ::ffff:a.b.c.d
    }
    return IpAddress{IpFamily::v6, bits};
}

IpAddress parse_ip_strict(std::string_view text) {
    auto a = parse_ip(text);
    if (!a) {
        bad_address(text);
    }
    return *a;
}

IpRange parse_cidr(std::string_view text) {
    const auto slash = text.find('/');
    const auto addr_text = text.substr(0, slash);
    auto addr = parse_ip(addr_text);
    if (!addr) {
        bad_address(addr_text);
    }
    int prefix = max_prefix(addr->family);
    if (slash != std::string_view::npos) {
        const auto len = text.substr(slash + 1);
        // A mapped address given with an IPv6 prefix (::ffff:10.0.0.0/104) counts in IPv4 bits.
        const int offset =
            addr->family == IpFamily::v4 && addr_text.find(':') != std::string_view::npos ? 96 : 0;
        int n = -1;
        const auto [ptr, ec] = std::from_chars(len.data(), len.data() + len.size(), n);
        const bool number =
            !len.empty() && len.size() <= 3 && ec == std::errc() && ptr == len.data() + len.size();
        if (!number || n - offset < 0 || n - offset > prefix) {
            const std::string shown(text.substr(0, k_max_text));
            throw Error(ErrorCode::invalid_argument,
                        "\"" + shown + "\": prefix length must be " + std::to_string(offset) +
                            ".." + std::to_string(prefix + offset) +
                            (addr->family == IpFamily::v4 ? " for IPv4" : " for IPv6"),
                        {{"value", shown}});
        }
        prefix = n - offset;
    }
    const U128 host = host_mask(addr->family, prefix);
    IpRange r;
    r.family = addr->family;
    r.prefix = prefix;
    r.first = U128{addr->bits.hi & ~host.hi, addr->bits.lo & ~host.lo};
    r.last = U128{r.first.hi | host.hi, r.first.lo | host.lo};
    return r;
}

IpRange single_range(const IpAddress& a) {
    return IpRange{a.family, a.bits, a.bits, max_prefix(a.family)};
}

std::string to_string(const IpAddress& a) {
    std::array<char, INET6_ADDRSTRLEN> buf{};
    if (a.family == IpFamily::v4) {
        in_addr v4{};
        v4.s_addr = htonl(static_cast<std::uint32_t>(a.bits.lo));
        inet_ntop(AF_INET, &v4, buf.data(), buf.size());
    } else {
        std::array<unsigned char, 16> v6{};
        store_be64(a.bits.hi, v6.data());
        store_be64(a.bits.lo, v6.data() + 8);
        inet_ntop(AF_INET6, v6.data(), buf.data(), buf.size());
    }
    return buf.data();
}

std::string to_string(const IpRange& r) {
    const std::string addr = to_string(IpAddress{r.family, r.first});
    return r.single() ? addr : addr + "/" + std::to_string(r.prefix);
}

CidrIndex::CidrIndex(std::vector<Entry> entries) {
    build(entries, IpFamily::v4);
    build(entries, IpFamily::v6);
}

void CidrIndex::build(std::vector<Entry>& all, IpFamily family) {
    std::vector<const Entry*> entries;
    for (const auto& e : all) {
        if (e.range.family == family) {
            entries.push_back(&e);
        }
    }
    // Outer ranges before the ranges they hold; equal ranges keep their order
    // (the later one nests in the earlier).
    std::stable_sort(entries.begin(), entries.end(), [](const Entry* a, const Entry* b) {
        return a->range.first != b->range.first ? a->range.first < b->range.first
                                                : a->range.last > b->range.last;
    });
    auto& seg = family == IpFamily::v4 ? m_v4 : m_v6;
    const U128 max = family == IpFamily::v4 ? k_max_v4 : k_max_v6;
    auto emit = [&seg](U128 start, int node) {
        if (!seg.starts.empty() && seg.starts.back() == start) {
            seg.nodes.back() = node;  // an empty segment: the later one wins
        } else {
            seg.starts.push_back(start);
            seg.nodes.push_back(node);
        }
    };
    std::vector<int> open;  // the ranges holding the current position, outermost first
    auto close = [&] {
        const int top = open.back();
        open.pop_back();
        const U128 last = m_nodes[static_cast<std::size_t>(top)].last;
        if (last != max) {
            emit(increment(last), open.empty() ? -1 : open.back());
        }
    };
    for (const Entry* e : entries) {
        while (!open.empty() &&
               m_nodes[static_cast<std::size_t>(open.back())].last < e->range.first) {
            close();
        }
        const int n = static_cast<int>(m_nodes.size());
        m_nodes.push_back(Node{e->range.last, e->payload, open.empty() ? -1 : open.back()});
        open.push_back(n);
        emit(e->range.first, n);
    }
    while (!open.empty()) {
        close();
    }
}

int CidrIndex::innermost(const IpAddress& a) const {
    const auto& seg = a.family == IpFamily::v4 ? m_v4 : m_v6;
    const auto it = std::upper_bound(seg.starts.begin(), seg.starts.end(), a.bits);
    if (it == seg.starts.begin()) {
        return -1;
    }
    return seg.nodes[static_cast<std::size_t>(it - seg.starts.begin() - 1)];
}

}  // namespace pb::limits
