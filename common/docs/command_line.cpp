#include "common/docs/command_line.hpp"

#include "common/ops/validate.hpp"

namespace pb::docs {
namespace {

using nlohmann::json;

std::string scalar_text(const ops::Param& p, const json& v) {
    if (v.is_string()) {
        return v.get<std::string>();
    }
    if (v.is_null()) {
        return "never";  // a time that never comes; the only null a param takes
    }
    if (p.type == ops::ParamType::duration && v.is_number_integer()) {
        return v.dump() + "ms";
    }
    if (v.is_boolean()) {
        return v.get<bool>() ? "true" : "false";
    }
    return v.dump();
}

// The values one param contributes, before its flag is put in front of each.
std::vector<std::string> value_words(const ops::Param& p, const json& v) {
    std::vector<std::string> out;
    if (p.words == ops::FieldWords::yes && v.is_object()) {
        for (const auto& [name, field] : v.items()) {
            out.push_back(name + "=" +
                          (field.is_string() ? field.get<std::string>() : field.dump()));
        }
    } else if (p.type == ops::ParamType::json_object || p.type == ops::ParamType::json_value) {
        // One JSON text (an array too: pbctl reads the whole value from one word).
        out.push_back(v.is_string() ? v.get<std::string>() : v.dump());
    } else if (v.is_array()) {
        for (const auto& item : v) {
            out.push_back(scalar_text(p, item));
        }
    } else {
        out.push_back(scalar_text(p, v));
    }
    return out;
}

bool plain_word(std::string_view w) {
    if (w.empty()) {
        return false;
    }
    for (const char c : w) {
        const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9') ||
                          std::string_view("-_./:@%+,=").find(c) != std::string_view::npos;
        if (!safe) {
            return false;
        }
    }
    return true;
}

}  // namespace

std::vector<std::string> pbctl_words(const ops::Op& op, const json& args) {
    std::vector<std::string> words;
    const std::string path = op.cli_path();
    for (std::size_t start = 0;;) {
        const auto dot = path.find('.', start);
        words.push_back(path.substr(start, dot - start));
        if (dot == std::string::npos) {
            break;
        }
        start = dot + 1;
    }
    for (const auto& p : op.params) {
        if (p.positional == ops::Positional::yes && args.contains(p.name)) {
            for (auto& w : value_words(p, args[p.name])) {
                words.push_back(std::move(w));
            }
        }
    }
    for (const auto& p : op.params) {
        if (p.positional == ops::Positional::yes || !args.contains(p.name)) {
            continue;
        }
        const auto& v = args[p.name];
        const auto flag = ops::param_label(p, ops::NameStyle::flag);
        if (p.type == ops::ParamType::boolean && v.is_boolean()) {
            // A flag is true when present; false is said only when it is not the default.
            if (v.get<bool>()) {
                words.push_back(flag);
            } else if (p.fallback != json(false)) {
                words.push_back(flag + "=false");
            }
            continue;
        }
        for (auto& w : value_words(p, v)) {
            words.push_back(flag);
            words.push_back(std::move(w));
        }
    }
    return words;
}

std::string shell_line(const std::vector<std::string>& words) {
    std::string line;
    for (const auto& w : words) {
        if (!line.empty()) {
            line += ' ';
        }
        if (plain_word(w)) {
            line += w;
            continue;
        }
        line += '\'';
        for (const char c : w) {
            line += c == '\'' ? std::string("'\\''") : std::string(1, c);
        }
        line += '\'';
    }
    return line;
}

std::string examples_help(const ops::Op& op) {
    if (op.examples.empty()) {
        return {};
    }
    std::string text(k_examples_heading);
    for (const auto& ex : op.examples) {
        auto words = pbctl_words(op, ex.args);
        words.insert(words.begin(), "pbctl");
        text += "  # " + ex.summary + "\n  " + shell_line(words) + "\n";
    }
    return text;
}

}  // namespace pb::docs
