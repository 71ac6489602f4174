#include "common/actions/template.hpp"

#include <regex>
#include <stdexcept>

#include "common/actions/args.hpp"
#include "common/core/error.hpp"

namespace pb::actions {
namespace {

using nlohmann::json;

const std::regex k_name(R"(\s*([a-z_][a-z0-9_]*)\s*)");
constexpr std::string_view k_redacted = "<redacted>";

[[noreturn]] void refuse_option(const Action& action, const std::string& param) {
    throw Error(ErrorCode::invalid_argument,
                "action " + action.name + ": parameter " + param +
                    ": a value starting with \"-\" would become an option here; the action must "
                    "place it after \"--\" or as --name={{" +
                    param + "}}",
                {{"param", param}, {"action", action.name}});
}

// One element's text, or nullopt when it names an absent parameter.
std::optional<std::string> interpolate(const Action& action, const std::vector<Piece>& pieces,
                                       const json& values, Reveal reveal) {
    std::string out;
    for (const auto& piece : pieces) {
        if (!piece.is_param) {
            out += piece.text;
            continue;
        }
        const auto it = values.find(piece.text);
        if (it == values.end()) {
            return std::nullopt;
        }
        const auto* spec = action.find_param(piece.text);
        out += reveal == Reveal::redacted && spec->secret ? std::string(k_redacted)
                                                          : value_text(*spec, *it);
    }
    return out;
}

json render_value(const Action& action, const json& tmpl, const json& values, Reveal reveal,
                  bool& absent) {
    if (tmpl.is_array() || tmpl.is_object()) {
        json out = tmpl.is_array() ? json::array() : json::object();
        for (auto it = tmpl.begin(); it != tmpl.end(); ++it) {
            bool gone = false;
            auto v = render_value(action, *it, values, reveal, gone);
            if (gone) {
                continue;
            }
            if (tmpl.is_array()) {
                out.push_back(std::move(v));
            } else {
                out[it.key()] = std::move(v);
            }
        }
        return out;
    }
    if (!tmpl.is_string()) {
        return tmpl;
    }
    const auto pieces = parse_template(tmpl.get<std::string>());
    if (pieces.size() == 1 && pieces.front().is_param) {
        const auto& name = pieces.front().text;
        const auto it = values.find(name);
        if (it == values.end()) {
            absent = true;
            return nullptr;
        }
        const auto* spec = action.find_param(name);
        if (reveal == Reveal::redacted && spec->secret) {
            return k_redacted;
        }
        return *it;  // typed: ops validate their own params again
    }
    auto text = interpolate(action, pieces, values, reveal);
    if (!text) {
        absent = true;
        return nullptr;
    }
    return *text;
}

}  // namespace

std::vector<Piece> parse_template(std::string_view text) {
    std::vector<Piece> out;
    std::size_t pos = 0;
    while (pos < text.size()) {
        const auto open = text.find("{{", pos);
        if (open == std::string_view::npos) {
            out.push_back({false, std::string(text.substr(pos))});
            break;
        }
        if (open > pos) {
            out.push_back({false, std::string(text.substr(pos, open - pos))});
        }
        const auto close = text.find("}}", open + 2);
        if (close == std::string_view::npos) {
            throw std::invalid_argument("\"{{\" without a closing \"}}\" in \"" +
                                        std::string(text) + "\"");
        }
        const std::string inner(text.substr(open + 2, close - open - 2));
        std::smatch m;
        if (!std::regex_match(inner, m, k_name)) {
            throw std::invalid_argument("{{" + inner + "}} is not a parameter name");
        }
        out.push_back({true, m[1].str()});
        pos = close + 2;
    }
    return out;
}

std::vector<std::string> render_argv(const Action& action, const json& values, Reveal reveal) {
    const auto& cmd = *action.command;
    std::vector<std::string> argv{cmd.argv.front()};
    bool after_double_dash = false;
    for (std::size_t i = 1; i < cmd.argv.size(); ++i) {
        const auto pieces = parse_template(cmd.argv[i]);
        const bool starts_with_value = !pieces.empty() && pieces.front().is_param;
        if (pieces.size() == 1 && starts_with_value &&
            action.find_param(pieces.front().text)->kind == ParamKind::list) {
            const auto& name = pieces.front().text;
            const auto it = values.find(name);
            if (it == values.end()) {
                continue;
            }
            const bool secret = action.find_param(name)->secret;
            for (const auto& item : *it) {
                const auto s = item.get<std::string>();
                if (s.starts_with('-') && !after_double_dash) {
                    refuse_option(action, name);
                }
                argv.push_back(reveal == Reveal::redacted && secret ? std::string(k_redacted) : s);
            }
            continue;
        }
        // Checked on the real value even when showing a redacted one.
        auto real = interpolate(action, pieces, values, Reveal::values);
        if (!real) {
            continue;
        }
        if (starts_with_value && real->starts_with('-') && !after_double_dash) {
            refuse_option(action, pieces.front().text);
        }
        if (pieces.size() == 1 && !pieces.front().is_param && real == "--") {
            after_double_dash = true;
        }
        argv.push_back(reveal == Reveal::values ? std::move(*real)
                                                : *interpolate(action, pieces, values, reveal));
    }
    return argv;
}

std::map<std::string, std::string> render_env(const Action& action, const json& values,
                                              Reveal reveal) {
    std::map<std::string, std::string> out;
    for (const auto& [name, tmpl] : action.command->env) {
        if (auto v = interpolate(action, parse_template(tmpl), values, reveal)) {
            out[name] = std::move(*v);
        }
    }
    return out;
}

json render_op_args(const Action& action, const json& values, Reveal reveal) {
    bool absent = false;
    return render_value(action, action.op->args, values, reveal, absent);
}

}  // namespace pb::actions
