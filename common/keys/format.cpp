#include "common/keys/format.hpp"

#include <cctype>

#include "common/core/crypto.hpp"

namespace pb::keys {
namespace {

constexpr std::string_view k_prefix = "pb_";

bool all_base62(std::string_view s) {
    for (char c : s) {
        if (!std::isalnum(static_cast<unsigned char>(c))) {
            return false;
        }
    }
    return true;
}

std::string checksum(std::string_view body) {
    return crypto::base62_fixed(crypto::crc32(body), k_checksum_length);
}

}  // namespace

std::string new_key_id() {
    return crypto::random_base62(k_id_length);
}

std::string make_key(std::string_view id) {
    std::string body =
        std::string(k_prefix) + std::string(id) + "_" + crypto::random_base62(k_secret_length);
    return body + checksum(body);
}

std::optional<ParsedKey> parse_key(std::string_view key) {
    constexpr std::size_t total =
        k_prefix.size() + k_id_length + 1 + k_secret_length + k_checksum_length;
    if (key.size() != total || !key.starts_with(k_prefix) ||
        key[k_prefix.size() + k_id_length] != '_') {
        return std::nullopt;
    }
    const auto id = key.substr(k_prefix.size(), k_id_length);
    const auto tail = key.substr(k_prefix.size() + k_id_length + 1);
    if (!all_base62(id) || !all_base62(tail)) {
        return std::nullopt;
    }
    const auto body = key.substr(0, total - k_checksum_length);
    if (checksum(body) != key.substr(total - k_checksum_length)) {
        return std::nullopt;
    }
    return ParsedKey{id};
}

std::string hash_key(std::string_view key) {
    return crypto::to_hex(crypto::sha256(key));
}

}  // namespace pb::keys
