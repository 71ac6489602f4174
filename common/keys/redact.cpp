#include "common/keys/redact.hpp"

#include <algorithm>
#include <cctype>

#include "common/core/percent.hpp"
#include "common/keys/format.hpp"

namespace pb::keys {
namespace {

constexpr std::string_view k_prefix = "pb_";
constexpr std::string_view k_cut = "\xE2\x80\xA6";  // …

bool base62(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0;
}

// The length of the key-shaped text at `at` (prefix, id, '_', at least one
// secret character), or 0.
std::size_t key_shape_at(std::string_view text, std::size_t at) {
    std::size_t i = at + k_prefix.size();
    if (text.substr(at, k_prefix.size()) != k_prefix || i + k_id_length + 2 > text.size()) {
        return 0;
    }
    for (std::size_t n = 0; n < k_id_length; ++n, ++i) {
        if (i >= text.size() || !base62(text[i])) {
            return 0;
        }
    }
    if (i >= text.size() || text[i] != '_') {
        return 0;
    }
    ++i;
    const auto secret_start = i;
    while (i < text.size() && base62(text[i])) {
        ++i;
    }
    return i > secret_start ? i - at : 0;
}

bool is_key_id(std::string_view s) {
    return s.size() == k_id_length && std::all_of(s.begin(), s.end(), base62);
}

// The keys routes' own words after /v1/keys/ (keys.verify, keys.import).
bool is_route_word(std::string_view s) {
    return s == "verify" || s == "import";
}

// `target` with the segment after /v1/keys/ cut as redact_key_id cuts it.
std::string cut_key_id_segment(std::string target) {
    constexpr std::string_view k_keys = "/v1/keys/";
    if (!target.starts_with(k_keys)) {
        return target;
    }
    const auto end = target.find_first_of("/?", k_keys.size());
    const auto len = (end == std::string::npos ? target.size() : end) - k_keys.size();
    const auto segment = std::string_view(target).substr(k_keys.size(), len);
    if (segment.empty() || is_route_word(segment)) {
        return target;
    }
    return target.replace(k_keys.size(), len, redact_key_id(segment));
}

}  // namespace

std::string redact_key_id(std::string_view value) {
    if (is_key_id(value)) {
        return std::string(value);
    }
    // pb's own shape, whole or already cut: its id is no secret.
    const auto keep = k_prefix.size() + k_id_length + 1;  // "pb_<id>_"
    if (value.size() >= keep && value.starts_with(k_prefix) &&
        is_key_id(value.substr(k_prefix.size(), k_id_length)) && value[keep - 1] == '_') {
        return std::string(value.substr(0, keep)).append(k_cut);
    }
    return std::string(k_cut);
}

void redact_key_id_arg(std::string_view op, nlohmann::json& args) {
    if (op.starts_with("keys.") && args.is_object() && args.contains("id") &&
        args["id"].is_string()) {
        args["id"] = redact_key_id(args["id"].get_ref<const std::string&>());
    }
}

std::string redact_keys(std::string_view text) {
    std::string out;
    std::size_t done = 0;
    for (auto at = text.find(k_prefix); at != std::string_view::npos;
         at = text.find(k_prefix, at + 1)) {
        if (at < done) {
            continue;
        }
        const auto n = key_shape_at(text, at);
        if (n == 0) {
            continue;
        }
        const auto keep = k_prefix.size() + k_id_length + 1;  // "pb_<id>_"
        out.append(text.substr(done, at - done + keep));
        out.append(k_cut);
        done = at + n;
    }
    if (done == 0) {
        return std::string(text);
    }
    out.append(text.substr(done));
    return out;
}

std::string redact_keys_in_target(std::string_view target) {
    if (const auto decoded = percent_decode(target)) {
        return cut_key_id_segment(redact_keys(*decoded));
    }
    return cut_key_id_segment(redact_keys(target));
}

nlohmann::json redact_keys_json(const nlohmann::json& value) {
    if (value.is_string()) {
        return redact_keys(std::string_view(value.get_ref<const std::string&>()));
    }
    if (value.is_array()) {
        auto out = nlohmann::json::array();
        for (const auto& v : value) {
            out.push_back(redact_keys_json(v));
        }
        return out;
    }
    if (value.is_object()) {
        auto out = nlohmann::json::object();
        for (const auto& [k, v] : value.items()) {
            out[redact_keys(std::string_view(k))] = redact_keys_json(v);
        }
        return out;
    }
    return value;
}

Error redact_keys_error(const Error& e) {
    return Error(e.code(), redact_keys(std::string_view(e.what())), redact_keys_json(e.details()));
}

}  // namespace pb::keys
