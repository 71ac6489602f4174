#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pb::limits {

enum class IpFamily : std::uint8_t { v4, v6 };

// An unsigned 128-bit number as two halves, ordered like the number (no
// __int128: it is not ISO C++ and -Wpedantic rejects it).
struct U128 {
    std::uint64_t hi = 0;
    std::uint64_t lo = 0;
    auto operator<=>(const U128&) const = default;
};

// One IPv4 or IPv6 address. IPv4 lives in the low 32 bits of `bits`. An
// IPv4-mapped IPv6 address (::ffff:a.b.c.d) is parsed as the IPv4 address, so
// a dual-stack listener and a ban on a.b.c.d agree.
struct IpAddress {
    IpFamily family = IpFamily::v4;
    U128 bits;
    auto operator<=>(const IpAddress&) const = default;
};

// A CIDR range: `first` is the network address (host bits cleared) and `last`
// the highest address; prefix is 0..32 (IPv4) or 0..128 (IPv6).
struct IpRange {
    IpFamily family = IpFamily::v4;
    U128 first;
    U128 last;
    int prefix = 0;

    bool contains(const IpAddress& a) const {
        return a.family == family && first <= a.bits && a.bits <= last;
    }
    // True for a /32 (IPv4) or /128 (IPv6): one address.
    bool single() const { return prefix == (family == IpFamily::v4 ? 32 : 128); }
};

// Parses an address ("203.0.113.7", "2001:db8::1"); nullopt for anything else
// (no zone ids, no leading zeros in IPv4 octets, no surrounding spaces). Never throws:
// it sits on the path of every request.
std::optional<IpAddress> parse_ip(std::string_view text);

// parse_ip(), but throws Error(invalid_argument) saying what is wrong, e.g.
// "\"300.1.1.1\" is not an IPv4 or IPv6 address".
IpAddress parse_ip_strict(std::string_view text);

// Parses "a.b.c.d/n" or "x::/n" (a bare address is its /32 or /128). Host bits
// set below the prefix are cleared ("10.1.2.3/8" is 10.0.0.0/8). Throws
// Error(invalid_argument) for a bad address or a prefix out of range
// ("10.0.0.0/33": prefix length must be 0..32 for IPv4).
IpRange parse_cidr(std::string_view text);

// The one range holding exactly `a`.
IpRange single_range(const IpAddress& a);

// Canonical text: "203.0.113.7", "2001:db8::1" (RFC 5952).
std::string to_string(const IpAddress& a);
// Canonical text: "10.0.0.0/8"; a single address prints without "/32".
std::string to_string(const IpRange& r);

// Answers "which ranges hold this address" over many CIDR ranges in
// O(log n): the ranges are flattened into sorted disjoint segments, each
// pointing at the innermost range holding it; ranges nest (CIDR ranges never
// overlap partially), so the enclosing ones follow through parent links.
// Immutable once built, so any number of threads may read it.
class CidrIndex {
  public:
    struct Entry {
        IpRange range;
        std::uint32_t payload = 0;  // the caller's handle, e.g. an index into its own table
    };

    CidrIndex() = default;
    explicit CidrIndex(std::vector<Entry> entries);

    // The payloads of the ranges holding `a`, innermost (longest prefix)
    // first, passed to `accept` until it returns true; returns that payload.
    template <class Accept>
    std::optional<std::uint32_t> find(const IpAddress& a, Accept&& accept) const {
        for (int n = innermost(a); n >= 0; n = m_nodes[static_cast<std::size_t>(n)].parent) {
            const auto payload = m_nodes[static_cast<std::size_t>(n)].payload;
            if (accept(payload)) {
                return payload;
            }
        }
        return std::nullopt;
    }

    // The payloads of the ranges that hold the whole of `r`, innermost first,
    // passed to `accept` as find() does.
    template <class Accept>
    std::optional<std::uint32_t> find_covering(const IpRange& r, Accept&& accept) const {
        for (int n = innermost(IpAddress{r.family, r.first}); n >= 0;
             n = m_nodes[static_cast<std::size_t>(n)].parent) {
            const auto& node = m_nodes[static_cast<std::size_t>(n)];
            if (node.last >= r.last && accept(node.payload)) {
                return node.payload;
            }
        }
        return std::nullopt;
    }

    std::size_t size() const { return m_nodes.size(); }

  private:
    struct Node {
        U128 last;
        std::uint32_t payload = 0;
        int parent = -1;  // enclosing range, or -1
    };
    struct Segments {
        std::vector<U128> starts;  // sorted; segment i covers [starts[i], starts[i+1])
        std::vector<int> nodes;    // innermost node of segment i, or -1 for a gap
    };

    // The innermost node holding `a`, or -1.
    int innermost(const IpAddress& a) const;
    void build(std::vector<Entry>& entries, IpFamily family);

    std::vector<Node> m_nodes;
    Segments m_v4;
    Segments m_v6;
};

}  // namespace pb::limits
