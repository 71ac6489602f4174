#pragma once

#include <nlohmann/json.hpp>

// What the API documents (openapi.hpp, asyncapi.hpp) share about schemas.
namespace pb::docs {

// Moves every named schema inside `s` (ops::schema::named: a "title") into
// `components` under its name and leaves {"$ref":"#/components/schemas/<name>"}:
// one name, one schema. Throws Error(internal) when two different schemas
// carry one name.
void hoist_named_schemas(nlohmann::json& s, nlohmann::json& components);

}  // namespace pb::docs
