#pragma once

#include <gtest/gtest.h>

#include "common/core/error.hpp"

namespace pb::test {

// The code of the pb::Error `fn` throws (fails the test if none).
template <class F>
ErrorCode error_code_of(F&& fn) {
    try {
        fn();
    } catch (const Error& e) {
        return e.code();
    }
    ADD_FAILURE() << "no pb::Error thrown";
    return ErrorCode::internal;
}

}  // namespace pb::test
