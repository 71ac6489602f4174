#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <yaml-cpp/yaml.h>

namespace pb {

// The one way pb reads YAML (config files, action files). yaml-cpp's parser
// recurses once per nesting level (a file of '[' ran it off the stack), and so
// does any walk of the tree, aliases included (`b: &b [*a]` chains nest without
// nesting in the text, and `[*a, *a]` doubles). So before yaml-cpp sees the
// text, a scan bounds its nesting (block indentation, "- - -" on one line, flow
// brackets); after loading, an iterative walk bounds the depth and the size of
// the tree as aliases expand it.
inline constexpr std::size_t k_max_yaml_depth = 64;
inline constexpr std::size_t k_max_yaml_nodes = 1'000'000;

// The file's document. Throws YAML::BadFile when it cannot be read and
// YAML::ParserException (with the line) when it is nested deeper than
// k_max_yaml_depth or expands beyond k_max_yaml_nodes: callers already report
// both with the file and line.
YAML::Node load_yaml_file(const std::string& path);
YAML::Node load_yaml(std::string_view text);

namespace detail {
// The deepest nesting the text's layout shows: one level per open indentation
// step, per "- " or "? " opening a line, per open flow bracket (comments,
// quoted and block scalars skipped). Stops early once past `limit`; `line` is
// then the 0-based line where it went past.
std::size_t yaml_text_depth(std::string_view text, std::size_t limit, int& line);
}  // namespace detail

}  // namespace pb
