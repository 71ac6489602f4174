#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "common/ops/registry.hpp"

namespace pb::docs {

// pbd's WebSocket API as an AsyncAPI 3.0 document, generated from the op
// table: the channel /ws, one request message per op a socket may send (every
// op of the table by its name, the WebSocket ops among them) with its reply
// (the op's answer, or the error frame), and the frames pbd pushes unasked
// (events, room notices and messages: each WebSocket op's Push). Payloads are
// the ops' JSON Schemas, named ones once under components/schemas.
// Deterministic: pbd serves it at GET /asyncapi.json, `pbctl asyncapi`
// prints the same. Throws Error(internal) for a table it cannot describe.
nlohmann::json asyncapi_document(const ops::OpTable& table, std::string_view version);

}  // namespace pb::docs
