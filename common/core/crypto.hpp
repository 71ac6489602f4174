#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace pb::crypto {

using Sha256Digest = std::array<unsigned char, 32>;

// SHA-256 of `data`. Thread-safe; the algorithm is fetched once per process and
// the digest context reused per thread.
Sha256Digest sha256(std::string_view data);

// HMAC-SHA256 of `data` under `key` (RFC 2104). Thread-safe.
Sha256Digest hmac_sha256(std::string_view key, std::string_view data);

// Lowercase hex of bytes.
std::string to_hex(const unsigned char* data, std::size_t size);
inline std::string to_hex(const Sha256Digest& d) {
    return to_hex(d.data(), d.size());
}

// Compares two byte strings in time independent of where they differ.
bool constant_time_equal(std::string_view a, std::string_view b);

// Cryptographically secure random bytes; throws Error(internal) if the CSPRNG fails.
void random_bytes(unsigned char* out, std::size_t size);

// A random string of `length` characters from [0-9A-Za-z], without modulo bias.
std::string random_base62(std::size_t length);

// `value` in base62, left-padded with '0' to `width` characters.
std::string base62_fixed(std::uint64_t value, std::size_t width);

// CRC-32 (IEEE 802.3, as in zlib) of `data`.
std::uint32_t crc32(std::string_view data);

}  // namespace pb::crypto
