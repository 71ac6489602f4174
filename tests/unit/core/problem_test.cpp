#include "common/core/problem.hpp"

#include <gtest/gtest.h>

namespace pb {
namespace {

using nlohmann::json;

// Pins: each code's type is urn:pb:problem:<kebab code>, but rate_limited's
// is the RateLimit draft's quota-exceeded; every code has a title.
TEST(ProblemDocument, TypesAreKebabCodesAndQuotaExceeded) {
    EXPECT_EQ(problem_type(ErrorCode::not_found), "urn:pb:problem:not-found");
    EXPECT_EQ(problem_type(ErrorCode::permission_denied), "urn:pb:problem:permission-denied");
    EXPECT_EQ(problem_type(ErrorCode::invalid_argument), "urn:pb:problem:invalid-argument");
    EXPECT_EQ(problem_type(ErrorCode::rate_limited), "urn:pb:problem:quota-exceeded");
    for (int i = 0; i <= static_cast<int>(ErrorCode::internal); ++i) {
        EXPECT_FALSE(problem_title(static_cast<ErrorCode>(i)).empty()) << i;
    }
}

// Pins: details become top-level members; one named like a standard member
// stays under "details", so it neither overwrites nor disappears.
TEST(ProblemDocument, DetailsAreFlattenedWithoutOverwriting) {
    const Error e(ErrorCode::invalid_argument, "owner: must be a string",
                  {{"param", "owner"}, {"status", "active"}, {"code", 7}});
    const auto doc = problem_document(e, 400);
    EXPECT_EQ(doc["type"], "urn:pb:problem:invalid-argument");
    EXPECT_EQ(doc["title"], "Invalid argument");
    EXPECT_EQ(doc["status"], 400);
    EXPECT_EQ(doc["detail"], "owner: must be a string");
    EXPECT_EQ(doc["code"], "invalid_argument");
    EXPECT_EQ(doc["param"], "owner");
    EXPECT_EQ(doc["details"], (json{{"status", "active"}, {"code", 7}}));
    EXPECT_FALSE(doc.contains("error"));
}

// Pins: pbctl --server reads back the Error a document tells: code, message
// and details as they were; anything else is no problem document of pb's.
TEST(ProblemDocument, ReadsBackTheError) {
    const Error e(ErrorCode::rate_limited, "this address is over its rate limit",
                  {{"retry_after_ms", 600}, {"violated-policies", {"ip"}}, {"status", "x"}});
    const auto back = error_from_problem(problem_document(e, 429));
    ASSERT_TRUE(back);
    EXPECT_EQ(back->code(), ErrorCode::rate_limited);
    EXPECT_STREQ(back->what(), e.what());
    EXPECT_EQ(back->details(), e.details());
    EXPECT_FALSE(error_from_problem(json{{"error", {{"code", "not_found"}}}}));
    EXPECT_FALSE(error_from_problem(json::array()));
    EXPECT_FALSE(error_from_problem(json{{"code", 4}, {"detail", "x"}}));
}

}  // namespace
}  // namespace pb
