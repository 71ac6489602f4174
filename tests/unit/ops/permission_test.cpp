#include <gtest/gtest.h>

#include "common/ops/op.hpp"

namespace pb::ops {
namespace {

// An exact grant covers only that permission.
TEST(HasPermission, ExactGrant) {
    EXPECT_TRUE(has_permission({"keys:write"}, "keys:write"));
    EXPECT_FALSE(has_permission({"keys:read"}, "keys:write"));
    EXPECT_FALSE(has_permission({"keys:write"}, "deploy:write"));
    EXPECT_TRUE(has_permission({"a:b", "keys:read"}, "keys:read"));
}

// "admin" and "*" cover everything.
TEST(HasPermission, AdminAndStarCoverEverything) {
    for (const char* needed : {"keys:write", "deploy:read", "admin"}) {
        EXPECT_TRUE(has_permission({"admin"}, needed)) << needed;
        EXPECT_TRUE(has_permission({"*"}, needed)) << needed;
    }
}

// "<group>:*" covers that group only, not a group with the same prefix.
TEST(HasPermission, GroupWildcardCoversItsGroupOnly) {
    EXPECT_TRUE(has_permission({"keys:*"}, "keys:write"));
    EXPECT_TRUE(has_permission({"keys:*"}, "keys:read"));
    EXPECT_FALSE(has_permission({"keys:*"}, "deploy:write"));
    EXPECT_FALSE(has_permission({"key:*"}, "keys:write"));
    EXPECT_FALSE(has_permission({"keys:*"}, "keysx:write"));
    EXPECT_FALSE(has_permission({"keysx:*"}, "keys:write"));
    EXPECT_FALSE(has_permission({"keys:*"}, "admin"));
}

// An empty requirement is always met; an empty grant list meets nothing else.
TEST(HasPermission, EmptyNeededIsAlwaysCovered) {
    EXPECT_TRUE(has_permission({}, ""));
    EXPECT_FALSE(has_permission({}, "keys:read"));
    EXPECT_FALSE(has_permission({""}, "keys:read"));
}

// Grants are compared exactly: case and near misses do not count.
TEST(HasPermission, NoFuzzyMatching) {
    EXPECT_FALSE(has_permission({"Keys:Write"}, "keys:write"));
    EXPECT_FALSE(has_permission({"keys:write "}, "keys:write"));
    EXPECT_FALSE(has_permission({"keys"}, "keys:write"));
    EXPECT_FALSE(has_permission({"ADMIN"}, "keys:write"));
}

}  // namespace
}  // namespace pb::ops
