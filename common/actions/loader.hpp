#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/actions/action.hpp"
#include "common/ops/registry.hpp"

namespace pb::actions {

// A problem found in an action file, with the 1-based line it is on (0 when
// it concerns the whole file).
struct Problem {
    std::string file;
    int line = 0;
    std::string message;

    std::string to_string() const;  // "file:line: message"
};

// Reads and checks one action file. The action is returned only when the file
// has no problem. `table` (may be null) checks that an op action names an
// existing op and its params. Never throws for the file's content.
struct LoadResult {
    std::optional<Action> action;
    std::vector<Problem> problems;
};
LoadResult load_file(const std::filesystem::path& file, const ops::OpTable* table);

// The action files a path names: a folder's *.yaml and *.yml (not recursive,
// sorted by name), or the file itself. A missing path is a problem.
std::vector<std::filesystem::path> action_files(const std::filesystem::path& path,
                                                std::vector<Problem>& problems);

// Every action under `paths`: files with problems are skipped, and so is an
// action whose name an earlier file already took (each reported).
struct Loaded {
    std::vector<Action> actions;
    std::vector<Problem> problems;
    std::vector<std::string> files;  // every file read, in order
};
Loaded load_paths(const std::vector<std::filesystem::path>& paths, const ops::OpTable* table);

// `pbctl actions lint`: one row per file checked and per problem,
// {"ok","summary","files":[{"where","file","line","status","message"}]}
// ("where" is "file:line").
nlohmann::json lint(const std::vector<std::filesystem::path>& paths, const ops::OpTable* table);
// The JSON Schema of lint()'s answer ("ActionLint").
nlohmann::json lint_schema();

}  // namespace pb::actions
