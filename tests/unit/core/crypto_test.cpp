#include "common/core/crypto.hpp"

#include <set>
#include <string>

#include <gtest/gtest.h>

namespace pb::crypto {
namespace {

constexpr std::string_view k_base62 =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

// SHA-256 matches the FIPS 180-2 test vectors.
TEST(Sha256, MatchesKnownVectors) {
    EXPECT_EQ(to_hex(sha256("abc")),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(to_hex(sha256("")),
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(to_hex(sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

// Repeated hashing reuses the context without leaking state between calls.
TEST(Sha256, IsStableAcrossCalls) {
    const auto first = to_hex(sha256("abc"));
    (void)sha256(std::string(10000, 'x'));
    EXPECT_EQ(to_hex(sha256("abc")), first);
}

// Hex is lowercase, two digits per byte.
TEST(ToHex, IsLowercaseTwoDigitsPerByte) {
    const unsigned char bytes[] = {0x00, 0x0f, 0xa0, 0xff};
    EXPECT_EQ(to_hex(bytes, sizeof bytes), "000fa0ff");
    EXPECT_EQ(to_hex(bytes, 0), "");
}

// constant_time_equal is plain equality on bytes, lengths included.
TEST(ConstantTimeEqual, ComparesBytesAndLengths) {
    EXPECT_TRUE(constant_time_equal("", ""));
    EXPECT_TRUE(constant_time_equal("secret", "secret"));
    EXPECT_FALSE(constant_time_equal("secret", "secreT"));
    EXPECT_FALSE(constant_time_equal("secret", "Secret"));
    EXPECT_FALSE(constant_time_equal("secret", "secret2"));
    EXPECT_FALSE(constant_time_equal("secret", ""));
    EXPECT_FALSE(constant_time_equal(std::string_view("a\0b", 3), std::string_view("a\0c", 3)));
}

// random_base62 gives exactly the requested length from [0-9A-Za-z].
TEST(RandomBase62, HasTheRequestedLengthAndAlphabet) {
    for (std::size_t n : {0, 1, 12, 32, 63, 64, 65, 1000}) {
        SCOPED_TRACE(n);
        const auto s = random_base62(n);
        EXPECT_EQ(s.size(), n);
        EXPECT_EQ(s.find_first_not_of(k_base62), std::string::npos);
    }
}

// Every one of the 62 characters is used, and two draws differ.
TEST(RandomBase62, UsesTheWholeAlphabetAndDiffers) {
    const auto s = random_base62(20000);
    const std::set<char> seen(s.begin(), s.end());
    EXPECT_EQ(seen.size(), 62U);
    EXPECT_NE(random_base62(32), random_base62(32));
}

// base62_fixed pads on the left to the width, digits 0-9A-Za-z.
TEST(Base62Fixed, PadsToWidth) {
    EXPECT_EQ(base62_fixed(0, 6), "000000");
    EXPECT_EQ(base62_fixed(61, 2), "0z");
    EXPECT_EQ(base62_fixed(62, 3), "010");
    EXPECT_EQ(base62_fixed(3843, 2), "zz");
    EXPECT_EQ(base62_fixed(0xFFFFFFFFU, 6), "4gfFC3");
    EXPECT_EQ(base62_fixed(0xCBF43926U, 6), "3jZRME");
}

// CRC-32 is the IEEE/zlib one: the standard check value.
TEST(Crc32, MatchesTheCheckValue) {
    EXPECT_EQ(crc32("123456789"), 0xCBF43926U);
    EXPECT_EQ(crc32(""), 0U);
    EXPECT_EQ(crc32("The quick brown fox jumps over the lazy dog"), 0x414FA339U);
}

}  // namespace
}  // namespace pb::crypto
