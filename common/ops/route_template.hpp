#pragma once

#include <array>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace pb::ops {

// The most segments a route or a request path may have.
inline constexpr std::size_t k_max_route_segments = 32;

// A path cut at its slashes, without copying: "/v1/keys/abc" is {"v1","keys","abc"}.
struct PathSegments {
    std::array<std::string_view, k_max_route_segments> items;
    std::size_t count = 0;
};

// Splits `path` at its slashes (empty segments are skipped); false when it
// has more than k_max_route_segments. Allocates nothing.
bool split_path(std::string_view path, PathSegments& out);

// A route's path template: literal segments, "{name}" captures of one
// segment, and a last "{name...}" capturing the rest of the path, slashes
// included ("/v1/secrets/{path...}"). Both directions live here: pbd
// matches request paths against it (through OpTable), pbctl --server expands
// it from an op's args. Immutable, so thread-safe.
class RouteTemplate {
  public:
    // Error(internal) for more than k_max_route_segments segments, or a
    // "{name...}" that does not end the template (programmer errors in the
    // op table).
    explicit RouteTemplate(std::string_view path);

    const std::string& path() const { return m_path; }

    // Whether the template ends with a "{name...}" capture.
    bool has_tail() const;

    // The number of literal segments `path` matches, or -1 when it does not
    // fit. Allocates nothing (pbd asks every route for every request).
    int fit(const PathSegments& path) const;

    // The captures of a path that fits, as sent (still percent-encoded: pbd
    // decodes them only after admission, so a broken escape is never
    // answered before a missing credential). A tail capture is its
    // segments joined by single slashes.
    std::map<std::string, std::string> captures(const PathSegments& path) const;

    // The captures of `path` percent-decoded, or nullopt when it does not fit.
    // Error(invalid_argument) for a broken %-escape.
    std::optional<std::map<std::string, std::string>> match(std::string_view path) const;

    // The template with every capture filled from `args` (a string as is,
    // another JSON value as its JSON text), percent-encoded but for RFC 3986's
    // unreserved characters; a tail keeps its slashes and each of its
    // segments is encoded alone. The captured args are removed from `args`.
    // Error(invalid_argument) naming the param when one is missing.
    std::string expand(nlohmann::json& args) const;

  private:
    std::string m_path;
    std::vector<std::string> m_segments;
};

}  // namespace pb::ops
