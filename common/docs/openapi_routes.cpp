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

json query_param(const char* name, std::string description, json schema) {
    return {{"name", name},
            {"in", "query"},
            {"required", false},
            {"description", std::move(description)},
            {"schema", std::move(schema)}};
}

// CrowdSec's Local API, the bouncer side (daemon/http/crowdsec_routes.hpp).
void add_crowdsec_routes(json& paths) {
    using namespace ops::schema;
    const json decision =
        object({{"id", integer("The ban's id")},
                {"origin", choice({"cscli", "crowdsec"},
                                  "cscli: set by an operator; crowdsec: an automatic ban")},
                {"type", choice({"ban"})},
                {"scope", choice({"Ip", "Range"})},
                {"value", string("An address or a CIDR range")},
                {"duration", string("Time left, in Go's duration syntax; negative once expired")},
                {"scenario", string("The ban's reason")},
                {"simulated", boolean()}});
    const json example{{"id", 42},
                       {"origin", "cscli"},
                       {"type", "ban"},
                       {"scope", "Ip"},
                       {"value", "203.0.113.7"},
                       {"duration", "3h59m12.5s"},
                       {"scenario", "credential stuffing"},
                       {"simulated", false}};
    const auto errors = error_responses(
        {ErrorCode::invalid_argument, ErrorCode::unauthenticated, ErrorCode::permission_denied,
         ErrorCode::banned, ErrorCode::rate_limited, ErrorCode::unavailable, ErrorCode::internal},
        false);
    const auto security = security_for("bans:read");

    json stream{{"operationId", "pbd.decisions.stream"},
                {"summary",
                 "CrowdSec bouncers' pull: the ip and range bans new or gone since this "
                 "caller's last pull from this address"},
                {"description",
                 "CrowdSec's Local API, for its bouncers (`pbctl bouncers add` makes their key, "
                 "which needs bans:read). The pull state is kept per key and client address, in "
                 "the database. `startup=true`: every ban in force is new. User and key bans are "
                 "never sent. Unknown scopes or origins, or a `startup` that is not a boolean, "
                 "are 400."},
                {"tags", {"pbd"}},
                {"security", security}};
    stream["parameters"] = {
        query_param("startup", "true: the bouncer starts empty, send every ban in force",
                    choice({"true", "false", "1", "0", "t", "f", "TRUE", "FALSE", "True", "False",
                            "T", "F"})),
        query_param("scopes", "Comma list of ip, range (default); country and as match nothing",
                    string()),
        query_param("origins", "Comma list of CrowdSec origins; pb's bans are cscli or crowdsec",
                    string()),
        query_param("scenarios_containing", "Comma list: the reason contains one of them",
                    string()),
        query_param("scenarios_not_containing", "Comma list: the reason contains none of them",
                    string())};
    stream["responses"] = errors;
    stream["responses"]["200"] = json_answer(
        "What changed; an empty list is null",
        object({{"new", nullable(array(decision))}, {"deleted", nullable(array(decision))}}),
        {{"new", {example}}, {"deleted", nullptr}});
    json stream_head = stream;
    stream_head["operationId"] = "pbd.decisions.stream.head";
    stream_head["summary"] =
        "Bouncers' health probe: admitted, answered empty, moves no pull state";
    stream_head["responses"]["200"] = {{"description", "The key may pull"}};
    paths["/v1/decisions/stream"]["get"] = stream;
    paths["/v1/decisions/stream"]["head"] = stream_head;

    json lookup{{"operationId", "pbd.decisions"},
                {"summary", "CrowdSec bouncers' live lookup: the ban on an address or range"},
                {"description",
                 "One of `ip`, `range`, or `scope` with `value`. Answers the most specific ban "
                 "in force covering it (an address: a ban on it or a range holding it; a range: "
                 "a range ban holding all of it), or null."},
                {"tags", {"pbd"}},
                {"security", security}};
    lookup["parameters"] = {
        query_param("ip", "An IPv4 or IPv6 address", string()),
        query_param("range", "A CIDR range", string()),
        query_param("scope", "ip or range, with value", choice({"ip", "range", "Ip", "Range"})),
        query_param("value", "The address or range, with scope", string()),
        query_param("type", "ban; captcha and throttle find nothing in pb",
                    choice({"ban", "captcha", "throttle"}))};
    lookup["responses"] = errors;
    lookup["responses"]["200"] =
        json_answer("The ban, or null", nullable(array(decision)), json::array({example}));
    json lookup_head = lookup;
    lookup_head["operationId"] = "pbd.decisions.head";
    lookup_head["summary"] = "Bouncers' health probe: admitted, answered empty";
    lookup_head["responses"]["200"] = {{"description", "The key may look up"}};
    paths["/v1/decisions"]["get"] = lookup;
    paths["/v1/decisions"]["head"] = lookup_head;
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
               "headers, for the proxy to pass on; with gate.identity_token.enabled, also in "
               "X-PB-Identity-Token, a JWT signed by pb for the upstream to verify from pb's "
               "JWKS (token_use identity: never a credential for pbd)."},
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

    add_crowdsec_routes(paths);
}

}  // namespace pb::docs
