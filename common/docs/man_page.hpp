#pragma once

#include <string>
#include <string_view>

#include "common/docs/command_model.hpp"
#include "common/ops/registry.hpp"

namespace pb::docs {

// pb's manual pages in roff (man(7)), generated from what the programs have:
// the command model of pbctl or pbd, the op table and the config key table.
// Deterministic (no dates), so the copies in man/ can be checked against them.

// pbctl(1): every command with its options, exit status, environment.
std::string pbctl_man_page(const CommandSpec& pbctl, std::string_view version);
// pbd(8): options, signals, the HTTP routes of the op table, environment.
std::string pbd_man_page(const CommandSpec& pbd, const ops::OpTable& table,
                         std::string_view version);
// pb.yaml(5): every setting with its type, default and environment variable.
std::string pb_yaml_man_page(std::string_view version);

// Text made safe for roff: backslashes, leading dots and quotes, and hyphens
// written as \- so that options copy and paste as ASCII.
std::string roff(std::string_view text);

}  // namespace pb::docs
