// SECURITY.md names the test behind each promise: a name that no test carries
// (a typo, a renamed or deleted test) would leave a promise unproven.
#include <filesystem>
#include <regex>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "tests/support/process.hpp"

namespace {

namespace fs = std::filesystem;

// Every `Suite.Test` (or `Suite.*`) quoted in backticks in `doc`.
std::set<std::string> named_tests(const std::string& doc) {
    static const std::regex k_name(R"(`([A-Z][A-Za-z0-9]+)\.([A-Za-z0-9_]+|\*)(/[A-Za-z*]+)?`)");
    std::set<std::string> names;
    for (std::sregex_iterator it(doc.begin(), doc.end(), k_name), end; it != end; ++it) {
        names.insert((*it)[1].str() + "." + (*it)[2].str());
    }
    return names;
}

// Every "Suite.Test" and "Suite.*" defined by TEST, TEST_F or TEST_P under tests/.
std::set<std::string> defined_tests() {
    static const std::regex k_test(R"(TEST(?:_F|_P)?\(\s*([A-Za-z0-9_]+),\s*([A-Za-z0-9_]+)\s*\))");
    std::set<std::string> names;
    for (const auto& entry :
         fs::recursive_directory_iterator(std::string(PB_SOURCE_DIR) + "/tests")) {
        if (!entry.is_regular_file() || entry.path().extension() != ".cpp") {
            continue;
        }
        const auto text = pb::test::read_file(entry.path().string());
        for (std::sregex_iterator it(text.begin(), text.end(), k_test), end; it != end; ++it) {
            names.insert((*it)[1].str() + "." + (*it)[2].str());
            names.insert((*it)[1].str() + ".*");
        }
    }
    return names;
}

// Pins: each test SECURITY.md cites exists (the page's own "Suite.Test"
// explanation aside), and the page cites a good number of them.
TEST(SecurityDoc, EveryCitedTestExists) {
    const auto cited =
        named_tests(pb::test::read_file(std::string(PB_SOURCE_DIR) + "/SECURITY.md"));
    const auto defined = defined_tests();
    std::size_t checked = 0;
    for (const auto& name : cited) {
        if (name == "Suite.Test" || name == "Suite.*") {
            continue;
        }
        EXPECT_TRUE(defined.count(name) != 0) << "SECURITY.md cites " << name << ", no such test";
        ++checked;
    }
    EXPECT_GT(checked, 60U);
}

}  // namespace
