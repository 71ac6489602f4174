#pragma once

namespace pb::cli {

// Parses the command line, runs the chosen op and prints its result. Returns
// the exit status of DESIGN.md's table (2 for usage errors).
int run(int argc, char** argv);

}  // namespace pb::cli
