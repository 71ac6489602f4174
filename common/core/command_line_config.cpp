#include "common/core/command_line_config.hpp"

namespace pb {

ConfigInputs inputs_from_command_line(
    const std::string& config_file, const std::vector<std::pair<std::string, std::string>>& flags) {
    ConfigInputs in;
    in.env = read_environment();
    if (!config_file.empty()) {
        in.file = config_file;
    }
    for (const auto& [key, value] : flags) {
        if (!value.empty()) {
            in.flags[key] = value;
        }
    }
    return in;
}

}  // namespace pb
