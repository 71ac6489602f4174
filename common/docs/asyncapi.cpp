#include "common/docs/asyncapi.hpp"

#include <algorithm>
#include <cctype>
#include <set>

#include "common/core/error.hpp"
#include "common/docs/schema_refs.hpp"
#include "common/ops/schema.hpp"

namespace pb::docs {
namespace {

using nlohmann::json;
using ops::Op;

const char* const k_channel = "ws";
const char* const k_description =
    "pbd's WebSocket API, generated from pb's op table (the table pbctl's commands and "
    "/openapi.json come from too).\n\n"
    "**Requests.** A request is one text message `{\"id\":…,\"op\":\"<name>\",\"args\":{…}}`: "
    "every op of the table by its name, with its arguments as one JSON object (what its HTTP "
    "route takes in its path, query and body), and the WebSocket ops, which only a socket "
    "serves (authenticate, token_refresh, subscribe, unsubscribe, join_room, leave_room, "
    "room_message, get_room_info). The answer echoes `id`: `{\"id\":…,\"ok\":true,"
    "\"result\":…}`, or the error frame `{\"id\":…,\"ok\":false,\"error\":{\"code\",\"message\","
    "\"details\"}}`. A socket's requests run one at a time, in the order sent; at most 64 wait "
    "(more are refused with rate_limited). JSON that is not a request is answered with an "
    "invalid_argument error frame, an unknown op with not_found.\n\n"
    "**Credentials.** Send an API key (`Authorization: Bearer pb_…` or `X-API-Key`) or a JWT "
    "with the upgrade request, or authenticate with the first message. Until then only "
    "authenticate and token_refresh are served (others answer unauthenticated); a socket not "
    "authenticated within ws.auth_timeout, or after 3 failed attempts, is closed (1008). Each "
    "op verifies the credential again and is admitted as one HTTP request would be (bans, "
    "rate limits, one use of a counted key), with the op's permission. A credential withdrawn "
    "meanwhile (revoked, expired, banned, its permissions changed) closes the socket (1008).\n\n"
    "**Pushed frames.** After subscribe, the events of the followed topics; after join_room, "
    "the room's notices and messages. They carry no id.\n\n"
    "**Close codes.** 1000 normal, 1001 pbd stopping, 1002 bad frame, 1003 binary message, "
    "1007 not JSON or not UTF-8, 1008 policy (authentication, withdrawn credential), 1009 "
    "larger than ws.max_message, 1013 a client more than ws.max_queue bytes behind.";

std::string message_ref(const std::string& name) {
    return std::string("#/channels/") + k_channel + "/messages/" + name;
}

json id_schema() {
    return ops::schema::any(
        "Any JSON value the client chooses; the answer echoes it (null "
        "when the request had none)");
}

json request_message(const Op& op) {
    json payload{{"type", "object"},
                 {"properties",
                  {{"id", id_schema()},
                   {"op", {{"const", op.name}}},
                   {"args", ops::schema::request_schema(op)}}},
                 {"required", {"op"}},
                 {"additionalProperties", false}};
    json examples = json::array();
    for (const auto& ex : op.examples) {
        examples.push_back({{"name", slug(ex.summary)},
                            {"summary", ex.summary},
                            {"payload", {{"id", 1}, {"op", op.name}, {"args", ex.args}}}});
    }
    json m{{"name", op.name},
           {"title", op.name},
           {"summary", op.summary},
           {"contentType", "application/json"},
           {"payload", std::move(payload)}};
    if (!examples.empty()) {
        m["examples"] = std::move(examples);
    }
    return m;
}

json result_message(const Op& op) {
    json payload{{"type", "object"},
                 {"properties",
                  {{"id", id_schema()},
                   {"ok", {{"const", true}}},
                   {"result", op.response.is_null() ? json::object() : op.response}}},
                 {"required", {"id", "ok", "result"}}};
    json examples = json::array();
    for (const auto& ex : op.examples) {
        examples.push_back({{"name", slug(ex.summary)},
                            {"summary", ex.summary},
                            {"payload", {{"id", 1}, {"ok", true}, {"result", ex.result}}}});
    }
    json m{{"name", op.name + ".result"},
           {"title", op.name + " answered"},
           {"summary", "The answer to " + op.name},
           {"contentType", "application/json"},
           {"payload", std::move(payload)}};
    if (!examples.empty()) {
        m["examples"] = std::move(examples);
    }
    return m;
}

std::vector<std::string> code_names() {
    std::vector<std::string> out;
    for (int i = 0; i <= static_cast<int>(ErrorCode::internal); ++i) {
        out.emplace_back(to_string(static_cast<ErrorCode>(i)));
    }
    return out;
}

json error_message() {
    using namespace ops::schema;
    json payload{
        {"type", "object"},
        {"properties",
         {{"id", id_schema()},
          {"ok", {{"const", false}}},
          {"error", object({{"code", choice(code_names())},
                            {"message", string("For people; never holds a secret")},
                            {"details", free_object("Machine-readable context (param, reason, "
                                                    "permission, …)")}})}}},
        {"required", {"id", "ok", "error"}}};
    return {{"name", "error"},
            {"title", "Error"},
            {"summary",
             "A request refused or failed: the error's code says which (the codes "
             "are HTTP's: invalid_argument, unauthenticated, permission_denied, …)"},
            {"contentType", "application/json"},
            {"payload", std::move(payload)},
            {"examples",
             {{{"name", "unauthenticated"},
               {"summary", "An op before the socket authenticated"},
               {"payload",
                {{"id", 2},
                 {"ok", false},
                 {"error",
                  {{"code", "unauthenticated"},
                   {"message", "authenticate first"},
                   {"details", {{"reason", "missing"}}}}}}}},
              {{"name", "unknown-op"},
               {"summary", "An op the table does not have"},
               {"payload",
                {{"id", 3},
                 {"ok", false},
                 {"error",
                  {{"code", "not_found"},
                   {"message", "unknown op \"keys.lst\""},
                   {"details", {{"op", "keys.lst"}}}}}}}}}}};
}

json push_message(const ops::Push& push) {
    return {{"name", push.name},
            {"title", push.name},
            {"summary", push.summary},
            {"contentType", "application/json"},
            {"payload", push.schema},
            {"examples", {{{"name", slug(push.name)}, {"payload", push.example}}}}};
}

// The codes an op may answer: those every op may over a socket, and its own.
json error_codes(const Op& op) {
    std::set<std::string> codes{"invalid_argument", "unauthenticated", "banned",
                                "rate_limited",     "unavailable",     "internal"};
    if (!op.permission.empty()) {
        codes.insert("permission_denied");
    }
    for (const auto c : op.errors) {
        codes.insert(std::string(to_string(c)));
    }
    json out = json::array();
    for (const auto& name : code_names()) {
        if (codes.contains(name)) {
            out.push_back(name);
        }
    }
    return out;
}

std::string op_description(const Op& op) {
    std::string d;
    if (op.websocket_only()) {
        d = "Served on a socket only.";
    } else {
        std::string command = op.cli_path();
        std::replace(command.begin(), command.end(), '.', ' ');
        d = "`pbctl " + command + "`; over HTTP `" + op.route.method + " " + op.route.path + "`.";
    }
    if (!op.permission.empty()) {
        d += " Needs the permission `" + op.permission + "`.";
    } else if (op.before_auth == ops::BeforeAuth::allowed) {
        d += " Needs no credential: it may be sent before the socket authenticates.";
    } else {
        d += " Needs an authenticated socket, and no permission.";
    }
    if (!op.description.empty()) {
        d += "\n\n" + op.description;
    }
    return d;
}

json operation(const Op& op) {
    json o{{"action", "send"},
           {"channel", {{"$ref", std::string("#/channels/") + k_channel}}},
           {"title", op.name},
           {"summary", op.summary},
           {"description", op_description(op)},
           {"tags", {{{"name", op.websocket_only() ? std::string("websocket") : op.group()}}}},
           {"messages", {{{"$ref", message_ref(op.name)}}}},
           {"reply",
            {{"channel", {{"$ref", std::string("#/channels/") + k_channel}}},
             {"messages",
              {{{"$ref", message_ref(op.name + ".result")}}, {{"$ref", message_ref("error")}}}}}},
           {"x-pb-permission", op.permission},
           {"x-pb-errors", error_codes(op)},
           {"x-pb-websocket-only", op.websocket_only()}};
    return o;
}

json security_schemes() {
    return {{"ApiKey",
             {{"type", "http"},
              {"scheme", "bearer"},
              {"bearerFormat", "pb API key (pb_<id>_<secret>)"},
              {"description", "An API key as `Authorization: Bearer pb_…` on the upgrade"}}},
            {"ApiKeyHeader",
             {{"type", "httpApiKey"},
              {"in", "header"},
              {"name", "X-API-Key"},
              {"description", "An API key as `X-API-Key: pb_…` on the upgrade"}}},
            {"BearerJwt",
             {{"type", "http"},
              {"scheme", "bearer"},
              {"bearerFormat", "JWT"},
              {"description",
               "A JWT from pb or a trusted issuer, on the upgrade; or any "
               "credential in an authenticate message"}}}};
}

json channel(json messages) {
    using namespace ops::schema;
    return {{"address", "/ws"},
            {"title", "pbd's WebSocket"},
            {"description",
             "One socket per client, on pbd's own port: requests and their answers, events "
             "and room messages."},
            {"messages", std::move(messages)},
            {"bindings",
             {{"ws",
               {{"method", "GET"},
                {"headers",
                 object({{"Authorization",
                          optional(string("Bearer and an API key or a JWT: the socket's "
                                          "credential"))},
                         {"X-API-Key", optional(string("An API key: the socket's credential"))}})},
                {"bindingVersion", "0.1.0"}}}}}};
}

}  // namespace

json asyncapi_document(const ops::OpTable& table, std::string_view version) {
    json messages = json::object();
    json operations = json::object();
    std::set<std::string> groups;
    for (const auto& op : table.all()) {
        messages[op.name] = request_message(op);
        messages[op.name + ".result"] = result_message(op);
        operations[op.name] = operation(op);
        groups.insert(op.websocket_only() ? std::string("websocket") : op.group());
    }
    messages["error"] = error_message();
    for (const auto& op : table.all()) {
        for (const auto& push : op.pushes) {
            if (messages.contains(push.name)) {
                throw Error(ErrorCode::internal, "asyncapi: two messages are named " + push.name);
            }
            messages[push.name] = push_message(push);
            operations["receive." + push.name] = {
                {"action", "receive"},
                {"channel", {{"$ref", std::string("#/channels/") + k_channel}}},
                {"title", push.name},
                {"summary", push.summary + " (after " + op.name + ")"},
                {"tags", {{{"name", "websocket"}}}},
                {"messages", {{{"$ref", message_ref(push.name)}}}}};
        }
    }
    json schemas = json::object();
    json channel_messages = json::object();
    for (auto& [name, m] : messages.items()) {
        hoist_named_schemas(m["payload"], schemas);
        channel_messages[name] = {{"$ref", "#/components/messages/" + name}};
    }
    json tags = json::array();
    for (const auto& g : groups) {
        tags.push_back(
            {{"name", g},
             {"description", g == "websocket" ? std::string("The ops only a socket serves")
                                              : "The " + g + " ops (pbctl " + g + ")"}});
    }
    json security = json::array();
    for (const char* scheme : {"ApiKey", "ApiKeyHeader", "BearerJwt"}) {
        security.push_back({{"$ref", std::string("#/components/securitySchemes/") + scheme}});
    }
    return {
        {"asyncapi", "3.0.0"},
        {"info",
         {{"title", "pbd WebSocket"},
          {"version", std::string(version)},
          {"description", k_description},
          {"license", {{"name", "MIT"}}},
          {"tags", tags}}},
        {"servers",
         {{"pbd",
           {{"host", "127.0.0.1:8700"},
            {"protocol", "ws"},
            {"description", "pbd's default address (server.listen)"},
            {"security", security}}}}},
        {"defaultContentType", "application/json"},
        {"channels", {{k_channel, channel(std::move(channel_messages))}}},
        {"operations", operations},
        {"components",
         {{"messages", messages}, {"schemas", schemas}, {"securitySchemes", security_schemes()}}}};
}

}  // namespace pb::docs
