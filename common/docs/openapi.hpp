#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "common/ops/registry.hpp"

namespace pb::docs {

// pbd's HTTP API as an OpenAPI 3.1 document, generated from the op table
// (each op's route, params, response schema, errors and examples) and from
// pbd's own routes outside it (pbd_routes()). Deterministic: the same table
// and version give the same text, which pbd serves at GET /openapi.json and
// `pbctl openapi` prints. Throws Error(internal) for a table it cannot
// describe (two different schemas under one name).
nlohmann::json openapi_document(const ops::OpTable& table, std::string_view version);

// The "METHOD /path" of every route the document describes, path templates as
// the op table writes them ("{path...}"): what the route-set test compares with
// pbd's router.
std::vector<std::string> documented_routes(const nlohmann::json& document);

}  // namespace pb::docs
