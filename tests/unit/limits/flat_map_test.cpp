#include "common/limits/flat_map.hpp"

#include <map>
#include <random>

#include <gtest/gtest.h>

namespace pb::limits {
namespace {

// Property: under random inserts, finds and erases (including the
// backward-shift cases around the wrap of the array), the map holds exactly
// what a std::map holds.
TEST(FlatMap, AgreesWithStdMap) {
    std::mt19937 rng(3);
    FlatMap<int> flat;
    std::map<std::string, int> model;
    auto key = [&] { return "id-" + std::to_string(rng() % 3000); };
    for (int step = 0; step < 200'000; ++step) {
        const auto k = key();
        const auto h = hash_id(k);
        switch (rng() % 4) {
            case 0:
            case 1:
                if (int* v = flat.find(k, h)) {
                    ++*v;
                    ++model.at(k);
                } else {
                    ASSERT_EQ(model.count(k), 0U) << k;
                    flat.insert(k, h) = 1;
                    model[k] = 1;
                }
                break;
            case 2:
                ASSERT_EQ(flat.erase(k, h), model.erase(k) == 1) << k;
                break;
            case 3: {
                int* v = flat.find(k, h);
                ASSERT_EQ(v != nullptr, model.count(k) == 1) << k;
                if (v != nullptr) {
                    ASSERT_EQ(*v, model.at(k));
                }
                break;
            }
        }
        ASSERT_EQ(flat.size(), model.size());
    }
    // erase_if removes exactly the matching values; the rest stay findable.
    flat.erase_if([](int v) { return v % 2 == 0; });
    std::erase_if(model, [](const auto& kv) { return kv.second % 2 == 0; });
    ASSERT_EQ(flat.size(), model.size());
    for (const auto& [k, v] : model) {
        ASSERT_NE(flat.find(k, hash_id(k)), nullptr) << k;
        EXPECT_EQ(*flat.find(k, hash_id(k)), v);
    }
    // erase_some empties it one entry at a time.
    for (std::size_t n = flat.size(); n > 0; --n) {
        flat.erase_some(rng());
        ASSERT_EQ(flat.size(), n - 1);
    }
    EXPECT_EQ(flat.find("id-1", hash_id("id-1")), nullptr);
}

// The hash spreads similar identifiers (addresses differing in one digit) over all bits.
TEST(FlatMap, HashSpreads) {
    std::vector<int> top(64, 0);
    for (int i = 0; i < 64'000; ++i) {
        ++top[hash_id("10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256)) >> 58];
    }
    for (int n : top) {
        EXPECT_GT(n, 700);
        EXPECT_LT(n, 1300);
    }
    EXPECT_NE(hash_id(""), hash_id(std::string(1, '\0')));
}

}  // namespace
}  // namespace pb::limits
