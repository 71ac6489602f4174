#include "common/actions/args.hpp"

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "common/core/error.hpp"
#include "tests/support/errors.hpp"
#include "tests/support/temp_dir.hpp"

namespace pb::actions {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using pb::test::error_code_of;

ParamSpec spec(ParamKind kind) {
    ParamSpec p;
    p.name = "x";
    p.kind = kind;
    return p;
}

ErrorCode refused(const ParamSpec& p, const json& v) {
    return error_code_of([&] { coerce_value(p, v, "t"); });
}

// Integers, numbers, booleans and durations accept their text spellings and
// refuse anything else, and ranges are inclusive.
TEST(ActionArgs, ScalarTypesAndRanges) {
    auto i = spec(ParamKind::integer);
    i.min = 1;
    i.max = 10;
    EXPECT_EQ(coerce_value(i, "10", "t"), 10);
    EXPECT_EQ(coerce_value(i, 1, "t"), 1);
    for (const json& bad :
         {json("11"), json("0"), json("12a"), json(""), json("1.5"), json(true)}) {
        EXPECT_EQ(refused(i, bad), ErrorCode::invalid_argument) << bad;
    }
    auto n = spec(ParamKind::number);
    n.max = 2.5;
    EXPECT_EQ(coerce_value(n, "2.5", "t"), 2.5);
    for (const json& bad : {json("2.6"), json("nan"), json("inf"), json("1e999"), json("x")}) {
        EXPECT_EQ(refused(n, bad), ErrorCode::invalid_argument) << bad;
    }
    const auto b = spec(ParamKind::boolean);
    EXPECT_EQ(coerce_value(b, "yes", "t"), true);
    EXPECT_EQ(coerce_value(b, "0", "t"), false);
    EXPECT_EQ(refused(b, "maybe"), ErrorCode::invalid_argument);
    auto d = spec(ParamKind::duration);
    d.max = 3'600'000;
    EXPECT_EQ(coerce_value(d, "1h", "t"), 3'600'000);
    EXPECT_EQ(coerce_value(d, "90s", "t"), 90'000);
    EXPECT_EQ(refused(d, "2h"), ErrorCode::invalid_argument);
    EXPECT_EQ(refused(d, "soon"), ErrorCode::invalid_argument);
}

// Patterns match the whole value; enums only their values; lists check each item.
TEST(ActionArgs, PatternsEnumsLists) {
    auto s = spec(ParamKind::string);
    s.pattern = "[a-z]+";
    s.pattern_re.emplace(s.pattern);
    s.max = 5;
    EXPECT_EQ(coerce_value(s, "abc", "t"), "abc");
    EXPECT_EQ(refused(s, "abc;"), ErrorCode::invalid_argument);  // anchored: no partial match
    EXPECT_EQ(refused(s, "abcdef"), ErrorCode::invalid_argument);
    EXPECT_EQ(refused(s, std::string("ab\0c", 4)), ErrorCode::invalid_argument);
    auto e = spec(ParamKind::enumeration);
    e.values = {"red", "green"};
    EXPECT_EQ(coerce_value(e, "green", "t"), "green");
    EXPECT_EQ(refused(e, "Green"), ErrorCode::invalid_argument);
    auto l = spec(ParamKind::list);
    l.pattern = "[a-z]+";
    l.pattern_re.emplace(l.pattern);
    l.max = 2;
    EXPECT_EQ(coerce_value(l, "one", "t"), json::array({"one"}));
    EXPECT_EQ(coerce_value(l, json::array({"a", "b"}), "t"), json::array({"a", "b"}));
    EXPECT_EQ(refused(l, json::array({"a", "b", "c"})), ErrorCode::invalid_argument);
    EXPECT_EQ(refused(l, json::array({"a", "B"})), ErrorCode::invalid_argument);
}

// A path is normalised and must stay inside its roots: "..", absolute paths
// elsewhere and symlinks leading out are refused.
TEST(ActionArgs, PathsAreConfinedToRoots) {
    pb::test::TempDir dir;
    fs::create_directories(dir.path() / "root" / "sub");
    fs::create_directories(dir.path() / "outside");
    fs::create_directory_symlink(dir.path() / "outside", dir.path() / "root" / "out-link");
    fs::create_directory_symlink(dir.path() / "root" / "sub", dir.path() / "root" / "in-link");
    auto p = spec(ParamKind::path);
    p.roots = {dir.path() / "root"};
    const auto root = fs::weakly_canonical(dir.path() / "root").string();
    EXPECT_EQ(coerce_value(p, "sub/./a.db", "t"), root + "/sub/a.db");
    EXPECT_EQ(coerce_value(p, root + "/new/file", "t"), root + "/new/file");
    EXPECT_EQ(coerce_value(p, "in-link/x", "t"), root + "/sub/x");
    EXPECT_EQ(coerce_value(p, "sub/../a", "t"), root + "/a");
    for (const char* bad :
         {"../../etc", "../outside/x", "/etc/passwd", "out-link/x", "sub/../../outside", ""}) {
        EXPECT_EQ(refused(p, bad), ErrorCode::invalid_argument) << bad;
    }
    // A root that is a prefix of a sibling's name does not let the sibling in.
    fs::create_directories(dir.path() / "root2");
    EXPECT_EQ(refused(p, (dir.path() / "root2" / "x").string()), ErrorCode::invalid_argument);
}

// A secret value never appears in the error message; a plain one does.
TEST(ActionArgs, SecretValuesAreNotEchoed) {
    auto s = spec(ParamKind::integer);
    try {
        coerce_value(s, "hunter2", "t");
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("hunter2"), std::string::npos);
    }
    s.secret = true;
    try {
        coerce_value(s, "hunter2", "t");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos) << e.what();
    }
}

// Unknown names are refused, required ones enforced, defaults filled.
TEST(ActionArgs, UnknownRequiredDefaults) {
    Action a;
    a.name = "t";
    auto req = spec(ParamKind::string);
    req.name = "req";
    req.required = true;
    auto opt = spec(ParamKind::integer);
    opt.name = "opt";
    opt.fallback = 7;
    a.params = {req, opt};
    EXPECT_EQ(validate_values(a, {{"req", "v"}}), (json{{"req", "v"}, {"opt", 7}}));
    EXPECT_EQ(error_code_of([&] {
                  validate_values(a, {{"req", "v"}, {"other", 1}});
              }),
              ErrorCode::invalid_argument);
    EXPECT_EQ(error_code_of([&] { validate_values(a, json::object()); }),
              ErrorCode::invalid_argument);
}

// --arg pairs: a repeated name makes a list; a pair without "=" or a name also
// in --args-json is refused.
TEST(ActionArgs, MergePairs) {
    json into = {{"a", "1"}};
    merge_pairs({"b=x=y", "c=1", "c=2", "d="}, into);
    EXPECT_EQ(into, (json{{"a", "1"}, {"b", "x=y"}, {"c", {"1", "2"}}, {"d", ""}}));
    EXPECT_EQ(error_code_of([&] { merge_pairs({"novalue"}, into); }), ErrorCode::invalid_argument);
    EXPECT_EQ(error_code_of([&] { merge_pairs({"a=2"}, into); }), ErrorCode::invalid_argument);
}

}  // namespace
}  // namespace pb::actions
