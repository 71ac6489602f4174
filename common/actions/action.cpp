#include "common/actions/action.hpp"

#include <array>
#include <utility>

#include "common/core/time_format.hpp"
#include "common/ops/schema.hpp"

namespace pb::actions {
namespace {

using nlohmann::json;

constexpr std::array<std::pair<ParamKind, std::string_view>, 8> k_kinds{{
    {ParamKind::string, "string"},
    {ParamKind::integer, "int"},
    {ParamKind::number, "number"},
    {ParamKind::boolean, "bool"},
    {ParamKind::enumeration, "enum"},
    {ParamKind::duration, "duration"},
    {ParamKind::list, "list"},
    {ParamKind::path, "path"},
}};

json shown_default(const ParamSpec& p) {
    if (p.fallback.is_null()) {
        return nullptr;
    }
    if (p.secret) {
        return "<redacted>";
    }
    if (p.kind == ParamKind::duration) {
        return format_duration(p.fallback.get<std::int64_t>());
    }
    return p.fallback;
}

}  // namespace

std::string_view to_string(ParamKind kind) {
    for (const auto& [k, name] : k_kinds) {
        if (k == kind) {
            return name;
        }
    }
    return "string";
}

std::optional<ParamKind> param_kind_from_string(std::string_view text) {
    for (const auto& [k, name] : k_kinds) {
        if (name == text) {
            return k;
        }
    }
    return std::nullopt;
}

const ParamSpec* Action::find_param(std::string_view n) const {
    for (const auto& p : params) {
        if (p.name == n) {
            return &p;
        }
    }
    return nullptr;
}

json Action::schema() {
    using namespace ops::schema;
    const auto param = object({{"name", string()},
                               {"type", string()},
                               {"help", string()},
                               {"required", boolean()},
                               {"default", any()},
                               {"secret", boolean()},
                               {"pattern", optional(string())},
                               {"min", optional(any())},
                               {"max", optional(any())},
                               {"values", optional(array(string()))},
                               {"roots", optional(array(string()))}});
    return named("Action",
                 object({{"name", string()},
                         {"description", string()},
                         {"permission", string()},
                         {"file", string()},
                         {"params", array(param)},
                         {"run", free_object("{op, args} or {command, timeout, cwd, env, …}")}}));
}

json Action::to_json() const {
    json ps = json::array();
    for (const auto& p : params) {
        json j{{"name", p.name},
               {"type", std::string(actions::to_string(p.kind))},
               {"help", p.help},
               {"required", p.required},
               {"default", shown_default(p)},
               {"secret", p.secret}};
        if (!p.pattern.empty()) {
            j["pattern"] = p.pattern;
        }
        const bool is_duration = p.kind == ParamKind::duration;
        if (p.min) {
            j["min"] = is_duration ? json(format_duration(static_cast<std::int64_t>(*p.min)))
                                   : json(*p.min);
        }
        if (p.max) {
            j["max"] = is_duration ? json(format_duration(static_cast<std::int64_t>(*p.max)))
                                   : json(*p.max);
        }
        if (!p.values.empty()) {
            j["values"] = p.values;
        }
        if (!p.roots.empty()) {
            json roots = json::array();
            for (const auto& r : p.roots) {
                roots.push_back(r.string());
            }
            j["roots"] = roots;
        }
        ps.push_back(std::move(j));
    }
    json run;
    if (op) {
        run = {{"op", op->op}, {"args", op->args}};
    } else if (command) {
        run = {{"command", command->argv},
               {"timeout_ms", command->timeout_ms},
               {"cwd", command->cwd},
               {"env", command->env},
               {"inherit_env", command->inherit_env},
               {"max_output", command->max_output}};
    }
    return json{{"name", name},
                {"description", description},
                {"permission", permission},
                {"file", file.string()},
                {"params", ps},
                {"run", run}};
}

}  // namespace pb::actions
