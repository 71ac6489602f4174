#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/core/error.hpp"

// Parts of the OpenAPI document (openapi.hpp) shared by its two sources: the
// op table's routes and pbd's own.
namespace pb::docs {

// Adds to `paths` the routes pbd answers outside the op table: /ready,
// /metrics, /v1/auth (the reverse-proxy gate), /openapi.json, /asyncapi.json,
// /ws and CrowdSec's /v1/decisions and /v1/decisions/stream (GET and HEAD).
// Keep in step with daemon/router.cpp (Router::own_routes; the route-set test
// checks).
void add_pbd_routes(nlohmann::json& paths);

// The error responses, by HTTP status, for `codes` (each status lists its codes
// and has an example body per code); `with_body` adds 413 and 415.
nlohmann::json error_responses(const std::vector<ErrorCode>& codes, bool with_body);

// An operation's security: none for an empty permission, else an API key (two
// headers) or a JWT.
nlohmann::json security_for(const std::string& permission);

}  // namespace pb::docs
