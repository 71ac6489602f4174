#include "common/docs/openapi_routes.hpp"

#include "common/ops/schema.hpp"

namespace pb::docs {
namespace {

using nlohmann::json;

json json_answer(std::string description, json schema, json example) {
    return {
        {"description", std::move(description)},
        {"content",
         {{"application/json", {{"schema", std::move(schema)}, {"example", std::move(example)}}}}}};
}

// A credential is optional: {} beside the schemes.
json optional_credential() {
    json out = json::array({json::object()});
    for (const auto& s : security_for("any")) {
        out.push_back(s);
    }
    return out;
}

}  // namespace

void add_pbd_routes(json& paths) {
    using namespace ops::schema;

    json ready{{"operationId", "pbd.ready"},
               {"summary", "Whether pbd takes requests (503 while starting or draining)"},
               {"description", "For load balancers; passes no ban and no rate limit."},
               {"tags", {"pbd"}},
               {"security", json::array()}};
    ready["responses"] = error_responses({ErrorCode::unavailable}, false);
    ready["responses"]["200"] =
        json_answer("Ready", object({{"status", choice({"ready"})}}), {{"status", "ready"}});
    paths["/ready"]["get"] = ready;

    json metrics{{"operationId", "pbd.metrics"},
                 {"summary",
                  "Prometheus metrics: requests per op and status, latencies, database "
                  "and Redis errors"},
                 {"description", "Passes no ban and no rate limit; no credential."},
                 {"tags", {"pbd"}},
                 {"security", json::array()}};
    metrics["responses"] = {
        {"200",
         {{"description", "Prometheus text format 0.0.4"},
          {"content",
           {{"text/plain",
             {{"schema", string()},
              {"example",
               "# TYPE pb_http_requests_total counter\n"
               "pb_http_requests_total{op=\"health\",status=\"200\"} 3\n"}}}}}}}};
    paths["/metrics"]["get"] = metrics;

    json auth{{"operationId", "pbd.auth"},
              {"summary",
               "The gate for reverse proxies (nginx auth_request): 200 lets a request "
               "through; 401, 403 or 429 refuses it"},
              {"description",
               "Admits the client address (bans, limits) and, unless `anonymous` is set and no "
               "credential is sent, the caller's credential. The caller is also told in the "
               "X-PB-Subject, X-PB-Owner, X-PB-Permissions, X-PB-Key-Id and X-PB-Client-IP "
               "headers, for the proxy to pass on."},
              {"tags", {"pbd"}},
              {"security", optional_credential()}};
    auth["parameters"] = {{{"name", "permission"},
                           {"in", "query"},
                           {"required", false},
                           {"description", "Refuse (403) a caller without this permission"},
                           {"schema", string()}},
                          {{"name", "anonymous"},
                           {"in", "query"},
                           {"required", false},
                           {"description", "1 or true: let a request without a credential through"},
                           {"schema", choice({"1", "true"})}}};
    auth["responses"] = error_responses(
        {ErrorCode::invalid_argument, ErrorCode::unauthenticated, ErrorCode::permission_denied,
         ErrorCode::banned, ErrorCode::rate_limited, ErrorCode::unavailable, ErrorCode::internal},
        false);
    auth["responses"]["200"] = json_answer("Let through",
                                           object({{"allowed", boolean()},
                                                   {"client_ip", optional(string())},
                                                   {"subject", optional(string())},
                                                   {"permissions", optional(array(string()))},
                                                   {"actor", optional(string())}}),
                                           {{"allowed", true},
                                            {"client_ip", "203.0.113.7"},
                                            {"subject", "ci"},
                                            {"permissions", {"deploy:write"}},
                                            {"actor", "key:4fQ9kZr2Lm8x"}});
    paths["/v1/auth"]["get"] = auth;

    json openapi{{"operationId", "pbd.openapi"},
                 {"summary", "This document (pbctl openapi prints the same offline)"},
                 {"tags", {"pbd"}},
                 {"security", json::array()}};
    openapi["responses"] =
        error_responses({ErrorCode::banned, ErrorCode::rate_limited, ErrorCode::internal}, false);
    openapi["responses"]["200"] =
        json_answer("An OpenAPI 3.1 document", free_object(),
                    {{"openapi", "3.1.0"}, {"info", {{"title", "pbd"}, {"version", "0.1.0"}}}});
    paths["/openapi.json"]["get"] = openapi;

    json asyncapi{{"operationId", "pbd.asyncapi"},
                  {"summary",
                   "The WebSocket API (/ws) as an AsyncAPI 3.0 document: every message a socket "
                   "may send, its answer, and the frames pbd pushes (pbctl asyncapi prints the "
                   "same offline)"},
                  {"tags", {"pbd"}},
                  {"security", json::array()}};
    asyncapi["responses"] =
        error_responses({ErrorCode::banned, ErrorCode::rate_limited, ErrorCode::internal}, false);
    asyncapi["responses"]["200"] = json_answer(
        "An AsyncAPI 3.0 document", free_object(),
        {{"asyncapi", "3.0.0"}, {"info", {{"title", "pbd WebSocket"}, {"version", "0.1.0"}}}});
    paths["/asyncapi.json"]["get"] = asyncapi;

    json ws{{"operationId", "pbd.ws"},
            {"summary", "WebSocket: ops as JSON messages, event subscriptions, rooms"},
            {"description",
             "Upgrade with `Connection: Upgrade` and `Upgrade: websocket`. Messages are "
             "`{\"id\":1,\"op\":\"states.get\",\"args\":{…}}`, answered "
             "`{\"id\":1,\"ok\":true,\"result\":{…}}` or `{\"id\":1,\"ok\":false,\"error\":{…}}`; "
             "a credential is sent in the upgrade's headers or in an `authenticate` message. "
             "Every op of this document may be sent so, and the WebSocket-only ops "
             "(authenticate, subscribe, rooms, …): GET /asyncapi.json describes them all. "
             "See pbd(8)."},
            {"tags", {"pbd"}},
            {"security", optional_credential()}};
    ws["responses"] = error_responses({ErrorCode::invalid_argument}, false);
    ws["responses"]["400"]["description"] =
        "invalid_argument: not a WebSocket upgrade request (answered with status 426)";
    ws["responses"]["426"] = ws["responses"]["400"];
    ws["responses"]["426"].erase("x-pb-response-name");  // its own, not the shared 400
    ws["responses"].erase("400");
    ws["responses"]["101"] = {{"description", "Switching to the WebSocket protocol"}};
    paths["/ws"]["get"] = ws;
}

}  // namespace pb::docs
