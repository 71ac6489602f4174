#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

// Helpers shared by the fuzz targets: each target reads its input as bytes.
namespace pb::fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

// Splits `text` at the first `sep`: (before, after); no separator gives (text, "").
inline std::pair<std::string_view, std::string_view> split_at(std::string_view text, char sep) {
    const auto at = text.find(sep);
    if (at == std::string_view::npos) {
        return {text, {}};
    }
    return {text.substr(0, at), text.substr(at + 1)};
}

// A fixed "now" (2026-01-01T00:00:00Z), so a run is reproducible.
inline constexpr std::int64_t k_now_ms = 1'767'225'600'000;

// `text` parsed as JSON when its nesting is at most `max_depth` (else a
// discarded value). For side inputs that reach a target only through a door
// that bounds nesting (a request body, a WebSocket message, a CLI argument:
// issue 21): the doors themselves are fuzzed by the request and ws_message
// targets. Counts brackets outside strings, without recursion.
inline nlohmann::json parse_door_json(std::string_view text, int max_depth = 64) {
    int depth = 0;
    bool in_string = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (c == '\\') {
                ++i;
            } else if (c == '"') {
                in_string = false;
            }
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max_depth) {
                return nlohmann::json(nlohmann::json::value_t::discarded);
            }
        } else if (c == ']' || c == '}') {
            --depth;
        }
    }
    return nlohmann::json::parse(text, nullptr, false);
}

// Writes `content` to the file `name` in a folder of this process's own (made
// once, under TMPDIR), for the loaders that read files; returns its path.
inline std::filesystem::path write_temp(const std::string& name, std::string_view content) {
    static const std::filesystem::path dir = [] {
        std::string pattern = (std::filesystem::temp_directory_path() / "pb-fuzz-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            std::abort();
        }
        return std::filesystem::path(pattern);
    }();
    const auto path = dir / name;
    std::ofstream(path, std::ios::binary | std::ios::trunc)
        .write(content.data(), static_cast<std::streamsize>(content.size()));
    return path;
}

}  // namespace pb::fuzz
