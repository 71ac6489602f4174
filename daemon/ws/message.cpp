#include "daemon/ws/message.hpp"

#include "common/core/error.hpp"
#include "common/core/json_parse.hpp"

namespace pb::daemon {

using nlohmann::json;

json parse_ws_message(std::string_view text) {
    return parse_json(text, "message");
}

json ws_request_id(const json& message) {
    return message.is_object() ? message.value("id", json()) : json();
}

bool is_ws_request(const json& message) {
    return message.is_object() && message.contains("op") && message["op"].is_string();
}

WsRequest decode_ws_request(const json& message) {
    if (!is_ws_request(message)) {
        throw Error(ErrorCode::invalid_argument, R"(a request is {"id":…,"op":"…","args":{…}})");
    }
    WsRequest request{message["op"].get<std::string>(), message.value("args", json::object())};
    if (!request.args.is_object()) {
        throw Error(ErrorCode::invalid_argument, "args: must be a JSON object",
                    {{"param", "args"}});
    }
    return request;
}

std::string ws_credential(const json& args) {
    for (const char* name : {"api_key", "token", "access_token"}) {
        if (const auto it = args.find(name); it != args.end() && it->is_string()) {
            return it->get<std::string>();
        }
    }
    throw Error(ErrorCode::invalid_argument,
                "authenticate: give args.api_key (an API key) or args.token (a JWT access token)",
                {{"param", "api_key"}});
}

std::shared_ptr<const std::string> ws_frame(const json& j) {
    return std::make_shared<const std::string>(
        j.dump(-1, ' ', false, json::error_handler_t::replace));
}

}  // namespace pb::daemon
