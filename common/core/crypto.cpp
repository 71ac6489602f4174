#include "common/core/crypto.hpp"

#include <memory>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "common/core/error.hpp"

namespace pb::crypto {
namespace {

constexpr std::string_view k_base62 =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

// Fetching the algorithm is the expensive part of the one-shot API; do it once.
const EVP_MD* sha256_md() {
    static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (md == nullptr) {
        throw Error(ErrorCode::internal, "OpenSSL has no SHA-256");
    }
    return md;
}

struct MdCtxDeleter {
    void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

constexpr std::array<std::uint32_t, 256> make_crc_table() {
    std::array<std::uint32_t, 256> table{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k) {
            c = (c & 1U) ? 0xEDB88320U ^ (c >> 1) : c >> 1;
        }
        table[i] = c;
    }
    return table;
}

constexpr auto k_crc_table = make_crc_table();

}  // namespace

Sha256Digest sha256(std::string_view data) {
    thread_local std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
    Sha256Digest out{};
    unsigned int len = 0;
    if (!ctx || EVP_DigestInit_ex2(ctx.get(), sha256_md(), nullptr) != 1 ||
        EVP_DigestUpdate(ctx.get(), data.data(), data.size()) != 1 ||
        EVP_DigestFinal_ex(ctx.get(), out.data(), &len) != 1) {
        throw Error(ErrorCode::internal, "SHA-256 failed");
    }
    return out;
}

Sha256Digest hmac_sha256(std::string_view key, std::string_view data) {
    Sha256Digest out{};
    unsigned int len = 0;
    // One-shot HMAC(): a context per call, cheap beside the row write it signs.
    if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
             reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(),
             &len) == nullptr ||
        len != out.size()) {
        throw Error(ErrorCode::internal, "HMAC-SHA256 failed");
    }
    return out;
}

std::string to_hex(const unsigned char* data, std::size_t size) {
    static constexpr char k_digits[] = "0123456789abcdef";
    std::string out(size * 2, '0');
    for (std::size_t i = 0; i < size; ++i) {
        out[2 * i] = k_digits[data[i] >> 4];
        out[2 * i + 1] = k_digits[data[i] & 0xF];
    }
    return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

void random_bytes(unsigned char* out, std::size_t size) {
    if (RAND_bytes(out, static_cast<int>(size)) != 1) {
        throw Error(ErrorCode::internal, "the system random number generator failed");
    }
}

std::string random_base62(std::size_t length) {
    std::string out;
    out.reserve(length);
    unsigned char buf[64];
    while (out.size() < length) {
        random_bytes(buf, sizeof buf);
        for (unsigned char b : buf) {
            // 248 = 4 * 62: rejecting the rest keeps every character equally likely.
            if (b < 248 && out.size() < length) {
                out.push_back(k_base62[b % 62]);
            }
        }
    }
    return out;
}

std::string base62_fixed(std::uint64_t value, std::size_t width) {
    std::string out(width, '0');
    for (std::size_t i = width; i > 0 && value > 0; --i) {
        out[i - 1] = k_base62[value % 62];
        value /= 62;
    }
    return out;
}

std::uint32_t crc32(std::string_view data) {
    std::uint32_t c = 0xFFFFFFFFU;
    for (unsigned char b : data) {
        c = k_crc_table[(c ^ b) & 0xFFU] ^ (c >> 8);
    }
    return c ^ 0xFFFFFFFFU;
}

}  // namespace pb::crypto
