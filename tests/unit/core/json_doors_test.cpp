// Every door into a JSON or YAML tree goes through common/core/json_parse or
// yaml_parse (bounded depth, one strict grammar). A new call to the libraries'
// own parsers fails this test, which names the offending lines.
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace pb {
namespace {

namespace fs = std::filesystem;

TEST(JsonDoors, NoCodeParsesJsonOrYamlOutsideTheEntryPoints) {
    const fs::path root = PB_SOURCE_DIR;
    const std::vector<std::string> banned{
        "json::parse(",        "json::accept(",    "YAML::Load",        "json::from_cbor(",
        "json::from_msgpack(", "json::from_bson(", "json::from_ubjson("};
    std::string offenders;
    std::size_t files = 0;
    for (const char* dir : {"common", "cli", "daemon"}) {
        for (const auto& entry : fs::recursive_directory_iterator(root / dir)) {
            const auto ext = entry.path().extension();
            if (!entry.is_regular_file() || (ext != ".cpp" && ext != ".hpp")) {
                continue;
            }
            const auto relative = fs::relative(entry.path(), root).string();
            if (relative.starts_with("common/core/json_parse.") ||
                relative.starts_with("common/core/yaml_parse.")) {
                continue;
            }
            ++files;
            std::ifstream in(entry.path());
            std::string line;
            for (int n = 1; std::getline(in, line); ++n) {
                for (const auto& word : banned) {
                    if (line.find(word) != std::string::npos) {
                        offenders += relative + ":" + std::to_string(n) + ": " + line + "\n";
                    }
                }
            }
        }
    }
    EXPECT_GT(files, 100U);
    EXPECT_EQ(offenders, "") << "use pb::parse_json (common/core/json_parse.hpp) or "
                                "pb::load_yaml_file (common/core/yaml_parse.hpp) instead:\n"
                             << offenders;
}

}  // namespace
}  // namespace pb
