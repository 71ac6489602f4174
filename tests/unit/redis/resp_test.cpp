#include "common/redis/resp.hpp"

#include <gtest/gtest.h>

#include "common/core/error.hpp"

namespace pb::redis {
namespace {

std::string nested_arrays(int levels) {
    std::string out;
    for (int i = 0; i < levels; ++i) {
        out += "*1\r\n";
    }
    return out + ":1\r\n";
}

// A reply's nesting is bounded by hiredis's reader (7 levels in 0.14), so
// adopt_reply's copy, which recurses, never goes deep. Redis's own replies
// (EVALSHA results, pub/sub messages) nest two or three levels.
TEST(ReplyReader, NestingIsBoundedBeforeAnyTreeIsBuilt) {
    ReplyReader shallow;
    shallow.feed(nested_arrays(3).data(), nested_arrays(3).size());
    Reply r;
    ASSERT_TRUE(shallow.next(r));
    EXPECT_EQ(r.elements.at(0).elements.at(0).elements.at(0).integer, 1);

    for (const int levels : {9, 1000, 1'000'000}) {
        ReplyReader deep;
        const auto bytes = nested_arrays(levels);
        try {
            deep.feed(bytes.data(), bytes.size());
            Reply ignored;
            deep.next(ignored);
            ADD_FAILURE() << levels << " levels were read";
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::unavailable) << e.what();
        }
    }
}

}  // namespace
}  // namespace pb::redis
