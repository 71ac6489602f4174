#include "common/core/percent.hpp"

#include <gtest/gtest.h>

namespace pb {
namespace {

// Escapes of either case decode to their bytes, a NUL and high bytes too.
TEST(PercentDecode, EscapesOfEitherCaseDecodeToTheirBytes) {
    EXPECT_EQ(percent_decode("p%40ss%2Fw%2fd"), "p@ss/w/d");
    EXPECT_EQ(percent_decode("%00%ff%C3%A9"), std::string("\0\xff\xc3\xa9", 4));
    EXPECT_EQ(percent_decode(""), "");
}

// '+' is a space only in a query string.
TEST(PercentDecode, PlusIsASpaceOnlyWhereAsked) {
    EXPECT_EQ(percent_decode("a+b%2B", Plus::literal), "a+b+");
    EXPECT_EQ(percent_decode("a+b%2B", Plus::space), "a b+");
}

// A broken escape is no answer at all, never a guess.
TEST(PercentDecode, BrokenEscapesAreRefused) {
    for (const char* bad : {"%", "%4", "ab%", "%zz", "%4g", "x%%41"}) {
        EXPECT_EQ(percent_decode(bad), std::nullopt) << bad;
    }
}

}  // namespace
}  // namespace pb
