#include <string>

#include <gtest/gtest.h>

#include "common/core/error.hpp"

namespace pb {
namespace {

struct CodeRow {
    ErrorCode code;
    const char* name;
    int exit;
    int http;
};

// DESIGN.md's error table, written out independently of error.cpp.
constexpr CodeRow k_design_table[] = {
    {ErrorCode::invalid_argument, "invalid_argument", 2, 400},
    {ErrorCode::unauthenticated, "unauthenticated", 3, 401},
    {ErrorCode::not_found, "not_found", 4, 404},
    {ErrorCode::conflict, "conflict", 5, 409},
    {ErrorCode::permission_denied, "permission_denied", 6, 403},
    {ErrorCode::banned, "banned", 6, 403},
    {ErrorCode::rate_limited, "rate_limited", 6, 429},
    {ErrorCode::unavailable, "unavailable", 7, 503},
    {ErrorCode::internal, "internal", 1, 500},
};

// Every code maps to DESIGN.md's name, CLI exit status and HTTP status.
TEST(ErrorCodes, MatchTheDesignTable) {
    for (const auto& row : k_design_table) {
        SCOPED_TRACE(row.name);
        EXPECT_EQ(to_string(row.code), row.name);
        EXPECT_EQ(exit_code(row.code), row.exit);
        EXPECT_EQ(http_status(row.code), row.http);
    }
}

// Names parse back to their code, so remote errors keep their meaning.
TEST(ErrorCodes, NamesParseBackToTheirCode) {
    for (const auto& row : k_design_table) {
        SCOPED_TRACE(row.name);
        EXPECT_EQ(error_code_from_string(row.name), row.code);
    }
}

// A name pb does not know (or a near miss) becomes internal, never a milder code.
TEST(ErrorCodes, UnknownNamesBecomeInternal) {
    EXPECT_EQ(error_code_from_string("no_such_code"), ErrorCode::internal);
    EXPECT_EQ(error_code_from_string(""), ErrorCode::internal);
    EXPECT_EQ(error_code_from_string("NOT_FOUND"), ErrorCode::internal);
}

// to_json has the documented shape {"code","message","details"}.
TEST(ErrorJson, HasCodeMessageAndDetails) {
    const Error e(ErrorCode::not_found, "no API key with id \"x\"", {{"id", "x"}});
    const auto j = e.to_json();
    EXPECT_EQ(j.at("code"), "not_found");
    EXPECT_EQ(j.at("message"), "no API key with id \"x\"");
    EXPECT_EQ(j.at("details"), (nlohmann::json{{"id", "x"}}));
    EXPECT_EQ(j.size(), 3U);
}

// An error survives to_json -> from_json unchanged, for every code.
TEST(ErrorJson, RoundTripsEveryCode) {
    for (const auto& row : k_design_table) {
        SCOPED_TRACE(row.name);
        const Error original(row.code, std::string("message for ") + row.name,
                             {{"param", "expires"}, {"n", 3}});
        const Error back = Error::from_json(original.to_json());
        EXPECT_EQ(back.code(), original.code());
        EXPECT_STREQ(back.what(), original.what());
        EXPECT_EQ(back.details(), original.details());
    }
}

// from_json tolerates a bare or odd error object without throwing.
TEST(ErrorJson, FromJsonFillsMissingFields) {
    const Error e = Error::from_json(nlohmann::json::object());
    EXPECT_EQ(e.code(), ErrorCode::internal);
    EXPECT_STRNE(e.what(), "");
    EXPECT_TRUE(e.details().is_object());
}

// The default details are an empty object, never null.
TEST(ErrorJson, DefaultDetailsAreAnEmptyObject) {
    const Error e(ErrorCode::conflict, "already exists");
    EXPECT_EQ(e.to_json().at("details"), nlohmann::json::object());
}

}  // namespace
}  // namespace pb
