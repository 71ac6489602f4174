#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/core/config.hpp"

namespace pb {

// A program's config inputs from its command line, the same for pbctl and
// pbd: the process environment (read_environment()), `config_file`
// (--config) unless empty, and each {config key, value} of `flags` whose
// value is not empty (an empty value is a flag left off the command line).
ConfigInputs inputs_from_command_line(
    const std::string& config_file, const std::vector<std::pair<std::string, std::string>>& flags);

}  // namespace pb
