#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pb::keys {

// API keys read `pb_<id>_<secret><checksum>`: a 12-character public id, a
// 32-character base62 secret (~190 bits) and a 6-character base62 CRC-32 of
// everything before it, so a typo or a scanner's guess is caught without a
// database lookup.
inline constexpr std::size_t k_id_length = 12;
inline constexpr std::size_t k_secret_length = 32;
inline constexpr std::size_t k_checksum_length = 6;

struct ParsedKey {
    std::string_view id;
};

// A fresh random key id.
std::string new_key_id();
// A new key text for `id` with a fresh secret.
std::string make_key(std::string_view id);
// The id of a well-formed key with a valid checksum; nullopt otherwise.
std::optional<ParsedKey> parse_key(std::string_view key);
// What is stored: the hex SHA-256 of the whole key text.
std::string hash_key(std::string_view key);

}  // namespace pb::keys
