#pragma once

#include <optional>
#include <source_location>
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "common/core/error.hpp"

namespace pb::test {

// The pb::Error `fn` throws, or nullopt when it returns (for a check that
// accepts either). Any other exception propagates and fails the test.
template <class F>
std::optional<Error> thrown_error(F&& fn) {
    try {
        std::forward<F>(fn)();
    } catch (const Error& e) {
        return e;
    }
    return std::nullopt;
}

// The pb::Error `fn` throws. When it throws none, the test fails at the
// caller's line and the result is Error(internal, "no pb::Error thrown").
template <class F>
Error error_of(F&& fn, std::source_location where = std::source_location::current()) {
    if (auto e = thrown_error(std::forward<F>(fn))) {
        return std::move(*e);
    }
    ADD_FAILURE_AT(where.file_name(), static_cast<int>(where.line())) << "no pb::Error thrown";
    return Error(ErrorCode::internal, "no pb::Error thrown");
}

// The code of the pb::Error `fn` throws (fails the test if none).
template <class F>
ErrorCode error_code_of(F&& fn, std::source_location where = std::source_location::current()) {
    return error_of(std::forward<F>(fn), where).code();
}

// The message of the pb::Error `fn` throws, whose code must be `expected`
// (the test fails at the caller's line otherwise); "" when none is thrown
// (a failure too).
template <class F>
std::string error_message_of(ErrorCode expected, F&& fn,
                             std::source_location where = std::source_location::current()) {
    const auto e = thrown_error(std::forward<F>(fn));
    if (!e) {
        ADD_FAILURE_AT(where.file_name(), static_cast<int>(where.line())) << "no pb::Error thrown";
        return "";
    }
    if (e->code() != expected) {
        ADD_FAILURE_AT(where.file_name(), static_cast<int>(where.line()))
            << "expected " << to_string(expected) << ", got " << to_string(e->code()) << ": "
            << e->what();
    }
    return e->what();
}

}  // namespace pb::test
