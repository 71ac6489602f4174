#include "common/limits/cidr.hpp"

#include <random>

#include <gtest/gtest.h>

#include "common/core/error.hpp"
#include "tests/support/errors.hpp"

namespace pb::limits {
namespace {

IpAddress ip(std::string_view text) {
    return parse_ip_strict(text);
}

// The message of the invalid_argument error `text` gets from parse_cidr.
std::string cidr_error(std::string_view text) {
    return pb::test::error_message_of(ErrorCode::invalid_argument, [&] { parse_cidr(text); });
}

// Addresses print back canonically; IPv4-mapped IPv6 is the IPv4 address.
TEST(Cidr, ParsesAndPrintsAddresses) {
    EXPECT_EQ(to_string(ip("203.0.113.7")), "203.0.113.7");
    EXPECT_EQ(to_string(ip("0.0.0.0")), "0.0.0.0");
    EXPECT_EQ(to_string(ip("255.255.255.255")), "255.255.255.255");
    EXPECT_EQ(to_string(ip("2001:DB8:0:0:0:0:0:1")), "2001:db8::1");
    EXPECT_EQ(to_string(ip("::")), "::");
    EXPECT_EQ(ip("::ffff:192.0.2.1"), ip("192.0.2.1"));
    EXPECT_EQ(ip("::ffff:192.0.2.1").family, IpFamily::v4);
    EXPECT_EQ(ip("2001:db8::1").family, IpFamily::v6);
}

// What is not exactly an address is refused, without throwing on the hot path.
TEST(Cidr, RejectsBadAddresses) {
    for (const char* bad :
         {"", "300.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", " 1.2.3.4", "1.2.3.4 ", "fe80::1%eth0",
          "2001:db8:::1", "g::1", "1.2.3.4/8", "::ffff:300.1.1.1", "localhost"}) {
        EXPECT_FALSE(parse_ip(bad).has_value()) << bad;
    }
    EXPECT_EQ(pb::test::error_message_of(ErrorCode::invalid_argument,
                                         [] { parse_ip_strict("300.1.1.1"); }),
              "\"300.1.1.1\" is not an IPv4 or IPv6 address");
}

// Ranges keep their network address; host bits are cleared; a bare address is one address.
TEST(Cidr, ParsesAndNormalisesRanges) {
    EXPECT_EQ(to_string(parse_cidr("10.0.0.0/8")), "10.0.0.0/8");
    EXPECT_EQ(to_string(parse_cidr("10.1.2.3/8")), "10.0.0.0/8");
    EXPECT_EQ(to_string(parse_cidr("2001:db8:1::/32")), "2001:db8::/32");
    EXPECT_EQ(to_string(parse_cidr("0.0.0.0/0")), "0.0.0.0/0");
    EXPECT_EQ(to_string(parse_cidr("::/0")), "::/0");
    EXPECT_EQ(to_string(parse_cidr("198.51.100.4/32")), "198.51.100.4");
    EXPECT_EQ(to_string(parse_cidr("198.51.100.4")), "198.51.100.4");
    EXPECT_TRUE(parse_cidr("2001:db8::1/128").single());
    EXPECT_EQ(to_string(parse_cidr("::ffff:10.0.0.0/104")), "10.0.0.0/8");
    const auto r = parse_cidr("192.0.2.0/24");
    EXPECT_TRUE(r.contains(ip("192.0.2.0")));
    EXPECT_TRUE(r.contains(ip("192.0.2.255")));
    EXPECT_FALSE(r.contains(ip("192.0.3.0")));
    EXPECT_FALSE(r.contains(ip("192.0.1.255")));
    EXPECT_FALSE(r.contains(ip("::ffff:c000:300")));
}

// Bad ranges name the value and what is allowed.
TEST(Cidr, RejectsBadRangesClearly) {
    EXPECT_EQ(cidr_error("10.0.0.0/33"), "\"10.0.0.0/33\": prefix length must be 0..32 for IPv4");
    EXPECT_EQ(cidr_error("2001:db8::/129"),
              "\"2001:db8::/129\": prefix length must be 0..128 for IPv6");
    EXPECT_EQ(cidr_error("300.1.1.1/8"), "\"300.1.1.1\" is not an IPv4 or IPv6 address");
    for (const char* bad : {"10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8/8", "10.0.0.0/ 8", "10.0.0.0/a",
                            "/8", "10.0.0.0/0008"}) {
        cidr_error(bad);
    }
}

// An address at either edge of a range matches; one step outside does not.
TEST(CidrIndex, MatchesEdgesOnly) {
    const CidrIndex index({{parse_cidr("192.0.2.0/24"), 1},
                           {parse_cidr("2001:db8::/32"), 2},
                           {parse_cidr("255.255.255.255/32"), 3},
                           {parse_cidr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00/120"), 4}});
    auto first = [&](std::string_view a) {
        return index.find(ip(a), [](std::uint32_t) { return true; });
    };
    EXPECT_EQ(first("192.0.2.0"), 1U);
    EXPECT_EQ(first("192.0.2.255"), 1U);
    EXPECT_EQ(first("192.0.1.255"), std::nullopt);
    EXPECT_EQ(first("192.0.3.0"), std::nullopt);
    EXPECT_EQ(first("2001:db8::"), 2U);
    EXPECT_EQ(first("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"), 2U);
    EXPECT_EQ(first("2001:db7:ffff:ffff:ffff:ffff:ffff:ffff"), std::nullopt);
    EXPECT_EQ(first("2001:db9::"), std::nullopt);
    EXPECT_EQ(first("255.255.255.255"), 3U);
    EXPECT_EQ(first("255.255.255.254"), std::nullopt);
    EXPECT_EQ(first("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), 4U);
    EXPECT_EQ(first("0.0.0.0"), std::nullopt);
    EXPECT_EQ(first("::"), std::nullopt);
}

// Nested ranges answer innermost first, then the ranges around it; families never mix.
TEST(CidrIndex, NestedRangesInnermostFirst) {
    const CidrIndex index({{parse_cidr("10.0.0.0/8"), 1},
                           {parse_cidr("10.1.0.0/16"), 2},
                           {parse_cidr("10.1.2.3"), 3},
                           {parse_cidr("10.1.0.0/16"), 4},
                           {parse_cidr("::/0"), 5}});
    auto chain = [&](std::string_view a) {
        std::vector<std::uint32_t> seen;
        index.find(ip(a), [&](std::uint32_t p) {
            seen.push_back(p);
            return false;
        });
        return seen;
    };
    EXPECT_EQ(chain("10.1.2.3"), (std::vector<std::uint32_t>{3, 4, 2, 1}));
    EXPECT_EQ(chain("10.1.2.4"), (std::vector<std::uint32_t>{4, 2, 1}));
    EXPECT_EQ(chain("10.2.0.0"), (std::vector<std::uint32_t>{1}));
    EXPECT_EQ(chain("11.0.0.0"), (std::vector<std::uint32_t>{}));
    EXPECT_EQ(chain("::1"), (std::vector<std::uint32_t>{5}));
    // The accept predicate skips an inner range (e.g. an expired ban) for the outer one.
    EXPECT_EQ(index.find(ip("10.1.2.3"), [](std::uint32_t p) { return p < 3; }), 2U);
    // find_covering: a range is covered by the ranges that hold all of it.
    auto covering = [&](std::string_view r) {
        return index.find_covering(parse_cidr(r), [](std::uint32_t) { return true; });
    };
    EXPECT_EQ(covering("10.1.2.0/24"), 4U);
    EXPECT_EQ(covering("10.0.0.0/9"), 1U);
    EXPECT_EQ(covering("0.0.0.0/0"), std::nullopt);
}

// Property: on thousands of random nested and disjoint ranges, the index
// answers exactly what a linear scan for the longest prefix answers.
TEST(CidrIndex, AgreesWithLinearScan) {
    std::mt19937_64 rng(7);
    std::vector<CidrIndex::Entry> entries;
    for (std::uint32_t i = 0; i < 3000; ++i) {
        const int len = static_cast<int>(8 + rng() % 25);
        const std::uint32_t base = static_cast<std::uint32_t>(rng()) & 0x0FFF'FFFF;  // 0.0.0.0/4
        IpRange r = parse_cidr(to_string(IpAddress{IpFamily::v4, U128{0, base}}) + "/" +
                               std::to_string(len));
        entries.push_back({r, i});
    }
    const CidrIndex index(entries);
    for (int n = 0; n < 20000; ++n) {
        const IpAddress a{IpFamily::v4, U128{0, static_cast<std::uint32_t>(rng()) & 0x0FFF'FFFF}};
        std::optional<std::uint32_t> expected;
        int best = -1;
        for (const auto& e : entries) {
            // Later duplicates nest inside earlier ones, so >= keeps the last.
            if (e.range.contains(a) && e.range.prefix >= best) {
                best = e.range.prefix;
                expected = e.payload;
            }
        }
        ASSERT_EQ(index.find(a, [](std::uint32_t) { return true; }), expected) << to_string(a);
    }
}

}  // namespace
}  // namespace pb::limits
