#include "common/ops/route_template.hpp"

#include "common/core/error.hpp"
#include "common/core/percent.hpp"

namespace pb::ops {
namespace {

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

// Percent-encodes everything but RFC 3986's unreserved characters.
std::string encode_segment(std::string_view s) {
    static constexpr char k_hex[] = "0123456789ABCDEF";
    std::string out;
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            out.push_back(ch);
        } else {
            out += '%';
            out += k_hex[c >> 4];
            out += k_hex[c & 0xF];
        }
    }
    return out;
}

// A tail's segments encoded one by one, its slashes kept.
std::string encode_tail(std::string_view value) {
    std::string out;
    for (auto slash = value.find('/'); slash != std::string_view::npos; slash = value.find('/')) {
        out += encode_segment(value.substr(0, slash)) + "/";
        value.remove_prefix(slash + 1);
    }
    return out + encode_segment(value);
}

}  // namespace

bool split_path(std::string_view path, PathSegments& out) {
    out.count = 0;
    while (!path.empty()) {
        if (path.front() == '/') {
            path.remove_prefix(1);
            continue;
        }
        if (out.count == k_max_route_segments) {
            return false;
        }
        const auto slash = path.find('/');
        out.items[out.count++] = path.substr(0, slash);
        path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash);
    }
    return true;
}

RouteTemplate::RouteTemplate(std::string_view path) : m_path(path) {
    PathSegments segments;
    if (!split_path(path, segments)) {
        throw Error(ErrorCode::internal, "route has too many segments: " + m_path);
    }
    for (std::size_t i = 0; i + 1 < segments.count; ++i) {
        if (is_tail_capture(segments.items[i])) {
            throw Error(ErrorCode::internal, "a {name...} capture must end the route: " + m_path);
        }
    }
    m_segments.assign(segments.items.begin(),
                      segments.items.begin() + static_cast<std::ptrdiff_t>(segments.count));
}

bool RouteTemplate::has_tail() const {
    return !m_segments.empty() && is_tail_capture(m_segments.back());
}

int RouteTemplate::fit(const PathSegments& path) const {
    if (has_tail() ? path.count < m_segments.size() : m_segments.size() != path.count) {
        return -1;
    }
    int literals = 0;
    for (std::size_t i = 0; i < m_segments.size(); ++i) {
        if (is_capture(m_segments[i])) {
            continue;
        }
        if (m_segments[i] != path.items[i]) {
            return -1;
        }
        ++literals;
    }
    return literals;
}

std::map<std::string, std::string> RouteTemplate::captures(const PathSegments& path) const {
    std::map<std::string, std::string> out;
    for (std::size_t i = 0; i < m_segments.size(); ++i) {
        if (is_tail_capture(m_segments[i])) {
            // The rest of the path as sent, one "/" between segments.
            std::string tail(path.items[i]);
            for (std::size_t j = i + 1; j < path.count; ++j) {
                tail += '/';
                tail += path.items[j];
            }
            out[capture_name(m_segments[i])] = std::move(tail);
        } else if (is_capture(m_segments[i])) {
            out[capture_name(m_segments[i])] = std::string(path.items[i]);
        }
    }
    return out;
}

std::optional<std::map<std::string, std::string>> RouteTemplate::match(
    std::string_view path) const {
    PathSegments segments;
    if (!split_path(path, segments) || fit(segments) < 0) {
        return std::nullopt;
    }
    auto out = captures(segments);
    for (auto& [name, value] : out) {
        auto decoded = percent_decode(value, Plus::literal);
        if (!decoded) {
            throw Error(ErrorCode::invalid_argument, "malformed percent-encoding in the URL");
        }
        value = std::move(*decoded);
    }
    return out;
}

std::string RouteTemplate::expand(nlohmann::json& args) const {
    std::string path = m_path;
    for (auto open = path.find('{'); open != std::string::npos; open = path.find('{', open)) {
        const auto close = path.find('}', open);
        const auto segment = std::string_view(path).substr(open, close - open + 1);
        const auto name = capture_name(segment);
        const auto it = args.find(name);
        if (it == args.end() || it->is_null()) {
            throw Error(ErrorCode::invalid_argument,
                        "missing argument \"" + name + "\" for the route " + m_path,
                        {{"param", name}});
        }
        const auto value = it->is_string() ? it->get<std::string>() : it->dump();
        const auto encoded = is_tail_capture(segment) ? encode_tail(value) : encode_segment(value);
        args.erase(it);
        path.replace(open, close - open + 1, encoded);
        open += encoded.size();
    }
    return path;
}

}  // namespace pb::ops
