#include "common/ops/schema.hpp"

#include "common/ops/validate.hpp"

namespace pb::ops::schema {
namespace {

constexpr const char* k_optional = "x-pb-optional";

json with_description(json s, std::string description) {
    if (!description.empty()) {
        s["description"] = std::move(description);
    }
    return s;
}

json typed(const char* type, std::string description) {
    return with_description(json{{"type", type}}, std::move(description));
}

}  // namespace

json string(std::string description) {
    return typed("string", std::move(description));
}
json integer(std::string description) {
    return typed("integer", std::move(description));
}
json number(std::string description) {
    return typed("number", std::move(description));
}
json boolean(std::string description) {
    return typed("boolean", std::move(description));
}
json time(std::string description) {
    return with_description(json{{"type", "string"}, {"format", "date-time"}},
                            std::move(description));
}
json any(std::string description) {
    return with_description(json::object(), std::move(description));
}
json choice(std::vector<std::string> values, std::string description) {
    return with_description(json{{"type", "string"}, {"enum", std::move(values)}},
                            std::move(description));
}
json array(json items, std::string description) {
    return with_description(json{{"type", "array"}, {"items", std::move(items)}},
                            std::move(description));
}
// "additionalProperties": true says what "type": "object" alone already means,
// because client generators read the bare form as an empty object
// (openapi-typescript: Record<string, never>), and a client could send no data.
json free_object(std::string description) {
    return with_description(json{{"type", "object"}, {"additionalProperties", true}},
                            std::move(description));
}
json map_of(json values, std::string description) {
    return with_description(json{{"type", "object"}, {"additionalProperties", std::move(values)}},
                            std::move(description));
}

json nullable(json s) {
    // A plain "type" takes null beside it; anything else (a named schema,
    // shown once as a $ref; an enum; a combination) is one of the two.
    if (s.contains("type") && s["type"].is_string() && !s.contains("enum") &&
        !s.contains("title")) {
        s["type"] = json::array({s["type"], "null"});
        return s;
    }
    json out{{"anyOf", json::array({s, json{{"type", "null"}}})}};
    return out;
}

json optional(json s) {
    s[k_optional] = true;
    return s;
}

json object(std::vector<std::pair<std::string, json>> fields, std::string description) {
    json props = json::object();
    json required = json::array();
    for (auto& [name, s] : fields) {
        if (s.contains(k_optional)) {
            s.erase(k_optional);
        } else {
            required.push_back(name);
        }
        props[name] = std::move(s);
    }
    json out{{"type", "object"}, {"properties", std::move(props)}};
    if (!required.empty()) {
        out["required"] = std::move(required);
    }
    return with_description(std::move(out), std::move(description));
}

json named(std::string title, json s) {
    s["title"] = std::move(title);
    return s;
}

json describe(json s, std::string description) {
    return with_description(std::move(s), std::move(description));
}

json param_schema(const Param& p) {
    if (!p.schema.is_null()) {
        return with_description(p.schema, p.help);
    }
    json s;
    switch (p.type) {
        case ParamType::string:
            s = {{"type", "string"}};
            // A token's bound is the configured tokens.max_size (8192 by default).
            if (p.bound == TextBound::text) {
                s["maxLength"] = k_max_text_chars;
            }
            if (!p.choices.empty()) {
                s["enum"] = p.choices;
            }
            break;
        case ParamType::integer:
            s = {{"type", "integer"}, {"minimum", p.min}};
            break;
        case ParamType::boolean:
            s = {{"type", "boolean"}};
            break;
        case ParamType::duration:
            s = {{"oneOf",
                  json::array(
                      {json{{"type", "integer"}, {"minimum", 0}, {"description", "milliseconds"}},
                       json{{"type", "string"},
                            {"pattern", "^([0-9]+(ms|s|m|h|d|w))+$"},
                            {"description", "a duration like 30s, 1h30m or 7d"}}})}};
            break;
        case ParamType::time:
            s = {{"oneOf",
                  json::array(
                      {json{{"type", "string"},
                            {"description", "an RFC 3339 time, or a duration from now (30d)"}},
                       json{{"type", "integer"}, {"description", "Unix milliseconds"}},
                       json{{"type", "null"}, {"description", "never"}}})}};
            break;
        case ParamType::string_list:
            s = {{"type", "array"}, {"items", {{"type", "string"}, {"minLength", 1}}}};
            break;
        case ParamType::json_object:
            s = free_object();
            break;
        case ParamType::json_value:
            s = json::object();  // any JSON value
            break;
    }
    if (!p.fallback.is_null()) {
        s["default"] = p.fallback;
    }
    return with_description(std::move(s), p.help);
}

json request_schema(const Op& op) {
    json props = json::object();
    json required = json::array();
    for (const auto& p : op.params) {
        if (p.cli_only == CliOnly::yes) {
            continue;  // pbctl's own: not part of the JSON contract
        }
        props[p.name] = param_schema(p);
        if (p.required != Required::no) {
            required.push_back(p.name);
        }
    }
    json out{{"type", "object"}, {"properties", std::move(props)}, {"additionalProperties", false}};
    if (!required.empty()) {
        out["required"] = std::move(required);
    }
    return out;
}

}  // namespace pb::ops::schema
