#pragma once

#include <string>

#include <nlohmann/json.hpp>

// What the API documents (openapi.hpp, asyncapi.hpp) share about schemas and examples.
namespace pb::docs {

// Moves every named schema inside `s` (ops::schema::named: a "title") into
// `components` under its name and leaves {"$ref":"#/components/schemas/<name>"}:
// one name, one schema. Throws Error(internal) when two different schemas
// carry one name.
void hoist_named_schemas(nlohmann::json& s, nlohmann::json& components);

// "A deploy key for CI" -> "a-deploy-key-for-ci": an example's name, "example"
// for a text with no letter or digit.
std::string slug(const std::string& text);

}  // namespace pb::docs
