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
    std::uint64_t w = 0;
    std::memcpy(&w, id.data() + i, id.size() - i);
    return fmix(h ^ w ^ 0xA5A5'A5A5'A5A5'A5A5ULL);
}

}  // namespace pb::limits
