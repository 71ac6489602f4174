#include <string>

#include <gtest/gtest.h>

#include "common/core/crypto.hpp"
#include "common/keys/format.hpp"

namespace pb::keys {
namespace {

constexpr std::string_view k_base62 =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
constexpr std::size_t k_total = 3 + k_id_length + 1 + k_secret_length + k_checksum_length;

// A different base62 character than `c`.
char other_than(char c) {
    return c == 'A' ? 'B' : 'A';
}

// A key reads pb_<12-char id>_<32-char secret><6-char checksum>.
TEST(KeyFormat, MakeKeyHasTheDocumentedShape) {
    const auto id = new_key_id();
    ASSERT_EQ(id.size(), k_id_length);
    EXPECT_EQ(id.find_first_not_of(k_base62), std::string::npos);
    const auto key = make_key(id);
    ASSERT_EQ(key.size(), k_total);
    EXPECT_EQ(key.substr(0, 3), "pb_");
    EXPECT_EQ(key.substr(3, k_id_length), id);
    EXPECT_EQ(key[3 + k_id_length], '_');
    EXPECT_EQ(key.substr(4 + k_id_length).find_first_not_of(k_base62), std::string::npos);
}

// The checksum is the base62 CRC-32 of everything before it.
TEST(KeyFormat, ChecksumIsBase62Crc32OfTheBody) {
    const auto key = make_key(new_key_id());
    const auto body = key.substr(0, k_total - k_checksum_length);
    EXPECT_EQ(key.substr(k_total - k_checksum_length),
              crypto::base62_fixed(crypto::crc32(body), k_checksum_length));
}

// A made key parses back to its id.
TEST(KeyFormat, ParseReturnsTheId) {
    const auto id = new_key_id();
    const auto key = make_key(id);
    const auto parsed = parse_key(key);
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(parsed->id, id);
}

// Two keys for the same id differ (fresh secret each time).
TEST(KeyFormat, EachKeyHasAFreshSecret) {
    const auto id = new_key_id();
    EXPECT_NE(make_key(id), make_key(id));
    EXPECT_NE(new_key_id(), new_key_id());
}

// Changing any one character anywhere in the key is caught without a lookup.
TEST(KeyFormat, ChecksumCatchesAnyOneCharacterChange) {
    const auto key = make_key(new_key_id());
    for (std::size_t i = 0; i < key.size(); ++i) {
        SCOPED_TRACE(i);
        auto typo = key;
        typo[i] = other_than(typo[i]);
        EXPECT_FALSE(parse_key(typo).has_value()) << typo;
    }
}

// Swapping two neighbouring characters is caught too.
TEST(KeyFormat, ChecksumCatchesTranspositions) {
    const auto key = make_key(new_key_id());
    for (std::size_t i = 0; i + 1 < key.size(); ++i) {
        if (key[i] == key[i + 1]) {
            continue;
        }
        auto typo = key;
        std::swap(typo[i], typo[i + 1]);
        EXPECT_FALSE(parse_key(typo).has_value()) << i;
    }
}

// Wrong prefix, wrong length, a wrong separator or non-base62 characters are malformed.
TEST(KeyFormat, RejectsWrongShapes) {
    const auto key = make_key(new_key_id());
    EXPECT_FALSE(parse_key("").has_value());
    EXPECT_FALSE(parse_key("pb_").has_value());
    EXPECT_FALSE(parse_key("pk_" + key.substr(3)).has_value());
    EXPECT_FALSE(parse_key("PB_" + key.substr(3)).has_value());
    EXPECT_FALSE(parse_key(key.substr(0, key.size() - 1)).has_value());
    EXPECT_FALSE(parse_key(key + "A").has_value());
    EXPECT_FALSE(parse_key(" " + key).has_value());
    EXPECT_FALSE(parse_key(key + "\n").has_value());
    auto sep = key;
    sep[3 + k_id_length] = '-';
    EXPECT_FALSE(parse_key(sep).has_value());
}

// A key with a correct checksum but non-base62 characters is still malformed.
TEST(KeyFormat, RejectsNonBase62EvenWithAValidChecksum) {
    std::string body =
        "pb_" + std::string(k_id_length, 'A') + "_" + std::string(k_secret_length - 1, 'B') + "-";
    const auto forged = body + crypto::base62_fixed(crypto::crc32(body), k_checksum_length);
    EXPECT_FALSE(parse_key(forged).has_value());
    std::string good_body =
        "pb_" + std::string(k_id_length, 'A') + "_" + std::string(k_secret_length, 'B');
    const auto good = good_body + crypto::base62_fixed(crypto::crc32(good_body), k_checksum_length);
    ASSERT_TRUE(parse_key(good).has_value());
    EXPECT_EQ(parse_key(good)->id, std::string(k_id_length, 'A'));
}

// The stored hash is the hex SHA-256 of the whole key text.
TEST(KeyFormat, HashIsSha256HexOfTheKey) {
    const auto key = make_key(new_key_id());
    EXPECT_EQ(hash_key(key), crypto::to_hex(crypto::sha256(key)));
    EXPECT_EQ(hash_key(key).size(), 64U);
    EXPECT_EQ(hash_key(key).find(key.substr(4 + k_id_length, k_secret_length)), std::string::npos);
}

}  // namespace
}  // namespace pb::keys
