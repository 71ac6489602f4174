#include "common/limits/flat_map.hpp"

#include <cstring>
#include <random>

namespace pb::limits {
namespace {

std::uint64_t random_seed() {
    std::random_device rd;
    return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
}

const std::uint64_t k_seed = random_seed();

// The finaliser of splitmix64: every input bit reaches every output bit.
std::uint64_t fmix(std::uint64_t x) {
    x = (x ^ (x >> 30)) * 0xBF58'476D'1CE4'E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D0'49BB'1331'11EBULL;
    return x ^ (x >> 31);
}

}  // namespace

std::uint64_t hash_id(std::string_view id) {
    std::uint64_t h = k_seed ^ (id.size() * 0x9E37'79B9'7F4A'7C15ULL);
    std::size_t i = 0;
    for (; i + 8 <= id.size(); i += 8) {
        std::uint64_t w = 0;
        std::memcpy(&w, id.data() + i, 8);
        h = fmix(h ^ w);
    }
    // The last 0..7 bytes by fixed-size loads (a memcpy of a variable size
    // is a call): two overlapping 4-byte reads, or three single bytes, cover
    // every byte; the length is in the seed already.
    const auto* p = reinterpret_cast<const unsigned char*>(id.data()) + i;
    const std::size_t rest = id.size() - i;
    std::uint64_t w = 0;
    if (rest >= 4) {
        std::uint32_t a = 0;
        std::uint32_t b = 0;
        std::memcpy(&a, p, 4);
        std::memcpy(&b, p + rest - 4, 4);
        w = a | (static_cast<std::uint64_t>(b) << 32);
    } else if (rest > 0) {
        w = p[0] | (static_cast<std::uint64_t>(p[rest / 2]) << 8) |
            (static_cast<std::uint64_t>(p[rest - 1]) << 16);
    }
    return fmix(h ^ w ^ 0xA5A5'A5A5'A5A5'A5A5ULL);
}

}  // namespace pb::limits
