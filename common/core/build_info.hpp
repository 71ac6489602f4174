#pragma once

#include <string>
#include <string_view>

namespace pb::build_info {

// What was built, recorded when the build was configured (build_info.cpp.in).
std::string_view version();     // "0.1.0"
std::string_view commit();      // the git commit, or "unknown" outside a git checkout
std::string_view compiler();    // "GNU 12.2.0"
std::string_view build_type();  // "Release"
// "0.1.0 (commit 1a2b3c4d5e6f, GNU 12.2.0, Release)", for --version.
std::string summary();

}  // namespace pb::build_info
