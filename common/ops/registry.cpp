#include "common/ops/registry.hpp"

#include <array>

#include "common/core/error.hpp"

namespace pb::ops {
namespace {

constexpr std::size_t k_max_segments = 32;

// Splits "/v1/keys/abc" into {"v1","keys","abc"}; false when there are too many segments.
bool split_path(std::string_view path, std::array<std::string_view, k_max_segments>& out,
                std::size_t& n) {
    n = 0;
    while (!path.empty()) {
        if (path.front() == '/') {
            path.remove_prefix(1);
            continue;
        }
        if (n == k_max_segments) {
            return false;
        }
        const auto slash = path.find('/');
        out[n++] = path.substr(0, slash);
        path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash);
    }
    return true;
}

bool is_capture(std::string_view segment) {
    return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

// "{path...}": a capture of one or more segments, slashes included; only last.
bool is_tail_capture(std::string_view segment) {
    return is_capture(segment) && segment.ends_with("...}") && segment.size() > 5;
}

std::string capture_name(std::string_view segment) {
    segment = segment.substr(1, segment.size() - 2);
    if (segment.ends_with("...")) {
        segment.remove_suffix(3);
    }
    return std::string(segment);
}

bool has_tail(const std::vector<std::string>& pattern) {
    return !pattern.empty() && is_tail_capture(pattern.back());
}

// The number of literal segments matched, or -1 when the path does not fit.
int match_segments(const std::vector<std::string>& pattern,
                   const std::array<std::string_view, k_max_segments>& path, std::size_t n) {
    if (has_tail(pattern) ? n < pattern.size() : pattern.size() != n) {
        return -1;
    }
    int literals = 0;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        if (is_capture(pattern[i])) {
            continue;
        }
        if (pattern[i] != path[i]) {
            return -1;
        }
        ++literals;
    }
    return literals;
}

}  // namespace

const Param* Op::find_param(std::string_view n) const {
    for (const auto& p : params) {
        if (p.name == n) {
            return &p;
        }
    }
    return nullptr;
}

void OpTable::add(Op op) {
    for (const auto& existing : m_ops) {
        if (existing.name == op.name) {
            throw Error(ErrorCode::internal, "op registered twice: " + op.name);
        }
        if (existing.route.method == op.route.method && existing.route.path == op.route.path) {
            throw Error(ErrorCode::internal, "route registered twice: " + op.route.path);
        }
    }
    for (const auto& p : op.params) {
        // Words take the rest of pbctl's command line: only a positional JSON object can.
        if (p.words == FieldWords::yes &&
            (p.type != ParamType::json_object || p.positional != Positional::yes)) {
            throw Error(ErrorCode::internal, "NAME=VALUE words need a positional json_object: " +
                                                 op.name + " " + p.name);
        }
    }
    std::array<std::string_view, k_max_segments> segments;
    std::size_t n = 0;
    if (!split_path(op.route.path, segments, n)) {
        throw Error(ErrorCode::internal, "route has too many segments: " + op.route.path);
    }
    for (std::size_t i = 0; i + 1 < n; ++i) {
        if (is_tail_capture(segments[i])) {
            throw Error(ErrorCode::internal,
                        "a {name...} capture must end the route: " + op.route.path);
        }
    }
    m_patterns.emplace_back(segments.begin(), segments.begin() + static_cast<std::ptrdiff_t>(n));
    m_ops.push_back(std::move(op));
}

const Op* OpTable::find(std::string_view name) const {
    for (const auto& op : m_ops) {
        if (op.name == name) {
            return &op;
        }
    }
    return nullptr;
}

OpTable::RouteMatch OpTable::match(std::string_view method, std::string_view path) const {
    RouteMatch best;
    std::array<std::string_view, k_max_segments> segments;
    std::size_t n = 0;
    if (!split_path(path, segments, n)) {
        return best;
    }
    int best_literals = -1;
    std::size_t best_index = 0;
    for (std::size_t i = 0; i < m_ops.size(); ++i) {
        const int literals = match_segments(m_patterns[i], segments, n);
        if (literals < 0) {
            continue;
        }
        if (m_ops[i].route.method != method) {
            best.path_known = true;
            continue;
        }
        // Between equal literals a fixed-length route is more specific than a tail.
        if (literals > best_literals ||
            (literals == best_literals && best.op != nullptr && has_tail(m_patterns[best_index]) &&
             !has_tail(m_patterns[i]))) {
            best_literals = literals;
            best_index = i;
            best.op = &m_ops[i];
        }
    }
    if (best.op != nullptr) {
        const auto& pattern = m_patterns[best_index];
        for (std::size_t i = 0; i < pattern.size(); ++i) {
            if (is_tail_capture(pattern[i])) {
                // The rest of the path as sent, one "/" between segments.
                std::string tail(segments[i]);
                for (std::size_t j = i + 1; j < n; ++j) {
                    tail += '/';
                    tail += segments[j];
                }
                best.captures[capture_name(pattern[i])] = std::move(tail);
            } else if (is_capture(pattern[i])) {
                best.captures[capture_name(pattern[i])] = std::string(segments[i]);
            }
        }
    }
    return best;
}

bool has_permission(const std::vector<std::string>& granted, std::string_view needed) {
    if (needed.empty()) {
        return true;
    }
    const auto colon = needed.find(':');
    const auto group = needed.substr(0, colon);
    for (const auto& g : granted) {
        if (g == needed || g == "admin" || g == "*") {
            return true;
        }
        if (colon != std::string_view::npos && g.size() == group.size() + 2 && g.ends_with(":*") &&
            g.starts_with(group)) {
            return true;
        }
    }
    return false;
}

}  // namespace pb::ops
