#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/ops/op.hpp"

namespace pb::docs {

// The pbctl words (after "pbctl") that make the call `args` describes, `args`
// being an op's arguments in their JSON form (an Example's args): positionals
// in their order, then flags, each value written the way pbctl reads it back
// (a list as a repeated flag, an object as JSON text or NAME=VALUE words, a
// duration in milliseconds as "900000ms", a time of null as "never"). How
// --help and pbctl(1) show an op's examples, and how the examples test runs
// them through the real pbctl.
std::vector<std::string> pbctl_words(const ops::Op& op, const nlohmann::json& args);

// `words` as one line of POSIX shell that reads back to the same words:
// each word single-quoted unless it is made of characters the shell leaves alone.
std::string shell_line(const std::vector<std::string>& words);

// The heading under which a command's help lists its examples; pbctl(1)
// finds them there (command_model reads help footers) to set them as code.
inline constexpr std::string_view k_examples_heading = "Examples:\n";

// An op's examples as pbctl command lines, for the end of its --help:
// the heading, then per example "  # <summary>" and "  pbctl <words>".
std::string examples_help(const ops::Op& op);

}  // namespace pb::docs
