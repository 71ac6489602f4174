#include "common/core/import_file.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/core/error.hpp"

namespace pb {

std::string read_import_file(const std::string& path) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (ec) {
        throw Error(ErrorCode::invalid_argument, "cannot read " + path + ": " + ec.message(),
                    {{"param", "file"}});
    }
    if (size > k_max_import_bytes) {
        throw Error(ErrorCode::invalid_argument, path + ": larger than 64 MiB",
                    {{"param", "file"}});
    }
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in) {
        throw Error(ErrorCode::invalid_argument, "cannot read " + path, {{"param", "file"}});
    }
    return text.str();
}

}  // namespace pb
