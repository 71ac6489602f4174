#include "common/docs/schema_refs.hpp"

#include <cctype>

#include "common/core/error.hpp"

namespace pb::docs {

using nlohmann::json;

void hoist_named_schemas(json& s, json& components) {
    if (!s.is_object()) {
        return;
    }
    if (s.contains("properties")) {
        for (auto& [name, p] : s["properties"].items()) {
            hoist_named_schemas(p, components);
        }
    }
    for (const char* k : {"items", "additionalProperties"}) {
        if (s.contains(k)) {
            hoist_named_schemas(s[k], components);
        }
    }
    for (const char* k : {"anyOf", "oneOf", "allOf"}) {
        if (s.contains(k)) {
            for (auto& item : s[k]) {
                hoist_named_schemas(item, components);
            }
        }
    }
    if (!s.contains("title")) {
        return;
    }
    const auto name = s["title"].get<std::string>();
    auto& slot = components[name];
    if (!slot.is_null() && slot != s) {
        throw Error(ErrorCode::internal, "two different schemas are named " + name);
    }
    slot = s;
    s = json{{"$ref", "#/components/schemas/" + name}};
}

std::string slug(const std::string& text) {
    std::string out;
    for (unsigned char c : text) {
        if (std::isalnum(c)) {
            out.push_back(static_cast<char>(std::tolower(c)));
        } else if (!out.empty() && out.back() != '-') {
            out.push_back('-');
        }
    }
    while (!out.empty() && out.back() == '-') {
        out.pop_back();
    }
    return out.empty() ? "example" : out;
}

}  // namespace pb::docs
