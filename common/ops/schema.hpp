#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/ops/op.hpp"

// Small builders of JSON Schema (2020-12, as OpenAPI 3.1 uses it), so that an
// op's response schema and a domain's row schemas read as a list of fields.
namespace pb::ops::schema {

using nlohmann::json;

json string(std::string description = {});
json integer(std::string description = {});
json number(std::string description = {});
json boolean(std::string description = {});
// An instant as RFC 3339 text in UTC ("2026-01-02T03:04:05.678Z").
json time(std::string description = {});
// Any JSON value.
json any(std::string description = {});
// One of a few strings.
json choice(std::vector<std::string> values, std::string description = {});
json array(json items, std::string description = {});
// An object whose fields are not fixed (metadata, claims, a state's data).
json free_object(std::string description = {});
// An object whose every member is `values` (e.g. a secret's fields: strings).
json map_of(json values, std::string description = {});
// `s` or null.
json nullable(json s);
// Marks a field of object() as sometimes absent (every other field is required).
json optional(json s);
// An object with these fields; all required but those wrapped in optional().
// Other members are allowed: a field added later does not break a client.
json object(std::vector<std::pair<std::string, json>> fields, std::string description = {});
// A schema with a name: /openapi.json shows it once, under components/schemas.
json named(std::string title, json s);
// Adds a description.
json describe(json s, std::string description);

// The schema of a param's JSON value: Param::schema, or derived from its type.
json param_schema(const Param& p);
// The schema of an op's whole arguments object (every param; required ones
// required; no other member: pb refuses unknown arguments).
json request_schema(const Op& op);

}  // namespace pb::ops::schema
