#pragma once

#include <string>
#include <string_view>

#include "common/docs/command_model.hpp"

namespace pb::cli {

using docs::CommandSpec;
using docs::FlagSpec;

// Shell completion scripts for pbctl, generated from its command model: groups,
// verbs, flags, and the values of flags that take one of a few (algorithms,
// state types, output formats) or a path. `shell` is bash, zsh or fish;
// Error(invalid_argument) otherwise.
std::string completion_script(std::string_view shell, const CommandSpec& root);

}  // namespace pb::cli
