#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

// What a WebSocket text message means to pbd, free of Beast (so a fuzz target
// reaches it): the JSON text, then the request {"id":…,"op":"…","args":{…}}.
namespace pb::daemon {

// The message's JSON, read by the one strict parser (bounded depth, no
// duplicate members, UTF-8 only): Error(invalid_argument) naming what is wrong
// otherwise (the session then answers with an error frame and closes with 1007).
nlohmann::json parse_ws_message(std::string_view text);

// The id a message's answer echoes: its "id" member, or null.
nlohmann::json ws_request_id(const nlohmann::json& message);

// True when `message` names an op: an object with a string "op".
bool is_ws_request(const nlohmann::json& message);

struct WsRequest {
    std::string op;
    nlohmann::json args;  // an object ({} when absent)
};

// The op and args of a message; Error(invalid_argument) unless it names an op
// and its "args", when present, is an object.
WsRequest decode_ws_request(const nlohmann::json& message);

// The credential an `authenticate` request carries: args.api_key, args.token
// or args.access_token (a string). Error(invalid_argument) otherwise.
std::string ws_credential(const nlohmann::json& args);

// `j` as one text frame, shared by every session it goes to (strings that
// are not UTF-8 are written with U+FFFD, never refused).
std::shared_ptr<const std::string> ws_frame(const nlohmann::json& j);

}  // namespace pb::daemon
