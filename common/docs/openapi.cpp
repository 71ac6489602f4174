#include "common/docs/openapi.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "common/core/error.hpp"
#include "common/core/problem.hpp"
#include "common/docs/command_line.hpp"
#include "common/docs/openapi_routes.hpp"
#include "common/docs/schema_refs.hpp"
#include "common/ops/schema.hpp"

namespace pb::docs {
namespace {

using nlohmann::json;
using ops::Op;
using ops::Param;

const char* const k_description =
    "pbd's HTTP API, generated from pb's op table (the same table pbctl's commands come "
    "from: `pbctl GROUP VERB` runs the op of the same name).\n\n"
    "**Arguments.** A route's `{captures}` are path parameters (`{path}` of the secrets "
    "routes may hold slashes: each segment percent-encoded, the slashes kept). GET and "
    "DELETE take their other arguments in the query string (a list as the name repeated); "
    "POST, PUT and PATCH in a JSON object body (`Content-Type: application/json`). pbd "
    "merges path, query and body into one set of arguments: an argument given twice, or "
    "one the op does not know, is refused with 400.\n\n"
    "**Credentials.** An op that needs a permission takes an API key, as "
    "`Authorization: Bearer pb_…` or `X-API-Key: pb_…`, or a JWT as "
    "`Authorization: Bearer <JWT>` (pb's own, or one of a trusted issuer). pbd also applies "
    "bans and rate limits to every caller, so any route may answer 403 (banned) or 429.\n\n"
    "**Errors.** Every error is an RFC 9457 problem document (`Content-Type: "
    "application/problem+json`): `{\"type\":\"urn:pb:problem:not-found\",\"title\","
    "\"status\",\"detail\",\"code\":\"not_found\",…}` with the status of its code (400 "
    "invalid_argument, 401 unauthenticated, 403 permission_denied or banned, 404 not_found, 409 "
    "conflict, 429 rate_limited, 503 unavailable, 500 internal); `type` is the code in kebab "
    "case but for 429, `urn:pb:problem:quota-exceeded` with `violated-policies`; the error's "
    "details (`param`, `reason`, …) are members beside them. pbctl exits with the code's "
    "status (2 to 7).\n\n"
    "**Rate limits.** Answers counted by a limit carry `RateLimit-Policy` (every policy that "
    "counted the request, e.g. `\"ip\";q=100;w=60, \"key\";q=10;w=1`) and `RateLimit` (the "
    "most restrictive: `\"key\";r=0;t=1`) per draft-ietf-httpapi-ratelimit-headers-11, and a "
    "429 `Retry-After`. A verdict the caller asked for (a key or "
    "token that does not verify, a limit that says no) is a 200 answer, not an error.";

const std::vector<std::string> k_security_names{"ApiKey", "ApiKeyHeader", "BearerJwt"};

// Marks a response shared by many operations: openapi_document() moves it to
// components/responses under this name and leaves a $ref.
const char* const k_response_name = "x-pb-response-name";

// The route's path as OpenAPI writes it: a tail capture "{path...}" is "{path}".
std::string openapi_path(std::string path) {
    for (auto dots = path.find("...}"); dots != std::string::npos; dots = path.find("...}")) {
        path.erase(dots, 3);
    }
    return path;
}

std::vector<std::string> captures(const std::string& path) {
    std::vector<std::string> out;
    for (auto open = path.find('{'); open != std::string::npos; open = path.find('{', open)) {
        const auto close = path.find('}', open);
        auto name = path.substr(open + 1, close - open - 1);
        if (name.ends_with("...")) {
            name.resize(name.size() - 3);
        }
        out.push_back(std::move(name));
        open = close;
    }
    return out;
}

bool has_body(const Op& op) {
    const auto& m = op.route.method;
    return m == "POST" || m == "PUT" || m == "PATCH";
}

// An example's key in a map: its summary's slug, numbered when taken.
std::string slug(const std::string& text, std::set<std::string>& used) {
    const std::string out = docs::slug(text);
    std::string unique = out;
    for (int n = 2; !used.insert(unique).second; ++n) {
        unique = out + "-" + std::to_string(n);
    }
    return unique;
}

// Every code pb::Error has, in the order of its table.
std::vector<ErrorCode> all_codes() {
    std::vector<ErrorCode> out;
    for (int i = 0; i <= static_cast<int>(ErrorCode::internal); ++i) {
        out.push_back(static_cast<ErrorCode>(i));
    }
    return out;
}

// The codes `op` may answer: its own and those every op of its kind may.
std::vector<ErrorCode> codes_of(const Op& op) {
    std::vector<ErrorCode> out{ErrorCode::invalid_argument, ErrorCode::banned,
                               ErrorCode::rate_limited, ErrorCode::unavailable,
                               ErrorCode::internal};
    if (!op.permission.empty()) {
        out.push_back(ErrorCode::unauthenticated);
        out.push_back(ErrorCode::permission_denied);
    }
    out.insert(out.end(), op.errors.begin(), op.errors.end());
    std::vector<ErrorCode> ordered;
    for (const auto c : all_codes()) {
        if (std::find(out.begin(), out.end(), c) != out.end()) {
            ordered.push_back(c);
        }
    }
    return ordered;
}

json error_example(ErrorCode code, const std::string& message) {
    json details = json::object();
    if (code == ErrorCode::rate_limited) {
        details["violated-policies"] = json::array({"ip"});
    }
    return problem_document(Error(code, message, std::move(details)), http_status(code));
}

// What each code means for a caller, in a response's description.
std::string code_meaning(ErrorCode code) {
    switch (code) {
        case ErrorCode::invalid_argument:
            return "a missing, unknown or malformed argument (details.param names it)";
        case ErrorCode::unauthenticated:
            return "no credential, or one that does not verify (details.reason)";
        case ErrorCode::not_found:
            return "the object named does not exist";
        case ErrorCode::conflict:
            return "it exists already, its version moved, or the change is not allowed now";
        case ErrorCode::permission_denied:
            return "the credential lacks the op's permission";
        case ErrorCode::banned:
            return "the caller's address, key or user is banned";
        case ErrorCode::rate_limited:
            return "a rate limit refused the request (Retry-After says when to retry)";
        case ErrorCode::unavailable:
            return "a backend (database, Redis, Vault) cannot be reached";
        case ErrorCode::internal:
            return "a bug in pb";
    }
    return "";
}

}  // namespace

json error_responses(const std::vector<ErrorCode>& codes, bool with_body) {
    std::map<int, std::vector<ErrorCode>> by_status;
    for (const auto c : codes) {
        by_status[http_status(c)].push_back(c);
    }
    json out = json::object();
    const json content_schema{{"$ref", "#/components/schemas/Problem"}};
    const std::string problem(k_problem_content_type);
    for (const auto& [status, list] : by_status) {
        std::string description;
        // Its name under components/responses: the status and its codes.
        std::string name = "Error" + std::to_string(status);
        json examples = json::object();
        for (const auto c : list) {
            description += (description.empty() ? "" : "; ") + std::string(to_string(c)) + ": " +
                           code_meaning(c);
            name += "-" + std::string(to_string(c));
            examples[std::string(to_string(c))] = {{"value", error_example(c, code_meaning(c))}};
        }
        out[std::to_string(status)] = {
            {"description", description},
            {"content", {{problem, {{"schema", content_schema}, {"examples", examples}}}}},
            {k_response_name, name}};
        if (status == 429) {
            const auto text = [](const char* d) {
                return json{{"description", d}, {"schema", {{"type", "string"}}}};
            };
            out["429"]["headers"] = {
                {"Retry-After",
                 {{"description", "Seconds until the request would pass"},
                  {"schema", {{"type", "integer"}}}}},
                {"RateLimit-Policy",
                 text("Every policy that counted the request (draft-ietf-httpapi-ratelimit-"
                      "headers-11), e.g. \"ip\";q=100;w=60, \"key\";q=10;w=1")},
                {"RateLimit", text("The most restrictive policy's state, e.g. \"key\";r=0;t=1")}};
        }
    }
    if (with_body) {
        out["413"] = {{"description", "invalid_argument: the body is larger than server.max_body"},
                      {"content", {{problem, {{"schema", content_schema}}}}},
                      {k_response_name, "Error413-body-too-large"}};
        out["415"] = {{"description", "invalid_argument: the body is not application/json"},
                      {"content", {{problem, {{"schema", content_schema}}}}},
                      {k_response_name, "Error415-not-json"}};
    }
    return out;
}

json security_for(const std::string& permission) {
    if (permission.empty()) {
        return json::array();
    }
    json out = json::array();
    for (const auto& name : k_security_names) {
        out.push_back({{name, json::array()}});
    }
    return out;
}

namespace {

json operation(const Op& op) {
    json o{{"operationId", op.name},
           {"summary", op.summary},
           {"tags", {op.group()}},
           {"security", security_for(op.permission)}};
    std::string description = "`pbctl " + op.cli_path() + "`";
    std::replace(description.begin(), description.end(), '.', ' ');
    description += op.permission.empty() ? ". Needs no credential."
                                         : ". Needs the permission `" + op.permission + "`.";
    if (!op.verdict_field.empty()) {
        description += " A false `" + op.verdict_field +
                       "` is an answer (200), not an error; pbctl exits with status " +
                       std::to_string(exit_code(op.verdict_code)) + " for it.";
    }
    o["description"] = description;
    o["x-pb-permission"] = op.permission;
    o["x-pb-mutates"] = op.mutates == ops::Mutates::yes;

    const auto in_path = captures(op.route.path);
    const bool body = has_body(op);
    json parameters = json::array();
    json body_schema{
        {"type", "object"}, {"properties", json::object()}, {"additionalProperties", false}};
    json body_required = json::array();
    for (const Param& p : op.params) {
        if (p.cli_only == ops::CliOnly::yes) {
            continue;  // pbctl's own: not part of the HTTP contract
        }
        const bool is_path = std::find(in_path.begin(), in_path.end(), p.name) != in_path.end();
        auto s = ops::schema::param_schema(p);
        if (!is_path && body) {
            body_schema["properties"][p.name] = s;
            if (p.required != ops::Required::no) {
                body_required.push_back(p.name);
            }
            continue;
        }
        const auto help = s.value("description", std::string());
        s.erase("description");
        json param{{"name", p.name},
                   {"in", is_path ? "path" : "query"},
                   {"description", help},
                   {"required", is_path || p.required != ops::Required::no}};
        if (is_path && op.route.path.find("{" + p.name + "...}") != std::string::npos) {
            param["description"] =
                help + " (may hold slashes: each segment percent-encoded, slashes kept)";
        }
        if (p.type == ops::ParamType::json_object) {
            param["content"] = {{"application/json", {{"schema", s}}}};
        } else {
            if (p.type == ops::ParamType::string_list) {
                param["style"] = "form";
                param["explode"] = true;
            }
            param["schema"] = s;
        }
        // The first example that gives it shows it.
        for (const auto& ex : op.examples) {
            if (ex.args.contains(p.name) && !param.contains("content")) {
                param["example"] = ex.args[p.name];
                break;
            }
        }
        parameters.push_back(std::move(param));
    }
    if (!parameters.empty()) {
        o["parameters"] = std::move(parameters);
    }
    const bool sends_body = body && !body_schema["properties"].empty();
    if (sends_body) {
        if (!body_required.empty()) {
            body_schema["required"] = body_required;
        }
        json examples = json::object();
        std::set<std::string> used;
        for (const auto& ex : op.examples) {
            json value = json::object();
            for (const auto& [k, v] : ex.args.items()) {
                if (std::find(in_path.begin(), in_path.end(), k) == in_path.end()) {
                    value[k] = v;
                }
            }
            examples[slug(ex.summary, used)] = {{"summary", ex.summary}, {"value", value}};
        }
        json media{{"schema", body_schema}};
        if (!examples.empty()) {
            media["examples"] = examples;
        }
        o["requestBody"] = {{"required", !body_required.empty()},
                            {"content", {{"application/json", media}}}};
    }

    json answers = json::object();
    json calls = json::array();
    std::set<std::string> used;
    for (const auto& ex : op.examples) {
        answers[slug(ex.summary, used)] = {{"summary", ex.summary}, {"value", ex.result}};
        calls.push_back({{"summary", ex.summary},
                         {"args", ex.args},
                         {"pbctl", pbctl_words(op, ex.args)},
                         {"result", ex.result}});
    }
    // Whole calls (all arguments, wherever they go), as WebSocket clients send
    // them too, and the same call as pbctl's words.
    o["x-pb-examples"] = std::move(calls);
    json media{{"schema", op.response.is_null() ? json::object() : op.response}};
    if (!answers.empty()) {
        media["examples"] = answers;
    }
    json responses = error_responses(codes_of(op), sends_body);
    responses[std::to_string(op.route.success_status)] = {
        {"description", op.summary}, {"content", {{"application/json", media}}}};
    o["responses"] = std::move(responses);
    return o;
}

json error_schema() {
    std::vector<std::string> names;
    for (const auto c : all_codes()) {
        names.emplace_back(to_string(c));
    }
    std::vector<std::string> types;
    for (const auto c : all_codes()) {
        if (std::find(types.begin(), types.end(), problem_type(c)) == types.end()) {
            types.push_back(problem_type(c));
        }
    }
    using namespace ops::schema;
    auto out = object(
        {{"type", choice(types, "urn:pb:problem:<code in kebab case>; 429: quota-exceeded")},
         {"title", string("A fixed short text per code")},
         {"status", integer("The HTTP status")},
         {"detail", string("For people; never holds a secret")},
         {"code", choice(names, "The same word as in WebSocket frames and pbctl's JSON")},
         {"violated-policies",
          optional(array(string(), "429: the RateLimit-Policy names that refused"))},
         {"param", optional(string("invalid_argument: the argument at fault"))},
         {"reason", optional(string("unauthenticated: why the credential was refused"))},
         {"details", optional(free_object("Details whose names are taken by the members above"))}},
        "An RFC 9457 problem document: the body of every error pbd answers. The error's "
        "details are members beside the standard ones.");
    out["additionalProperties"] = true;
    return out;
}

}  // namespace

json openapi_document(const ops::OpTable& table, std::string_view version) {
    json paths = json::object();
    std::set<std::string> groups;
    for (const auto& op : table.all()) {
        if (op.websocket_only()) {
            continue;  // messages on /ws: /asyncapi.json describes them
        }
        auto& item = paths[openapi_path(op.route.path)];
        std::string method = op.route.method;
        std::transform(method.begin(), method.end(), method.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        item[method] = operation(op);
        groups.insert(op.group());
    }
    add_pbd_routes(paths);
    groups.insert("pbd");

    json components{
        {"schemas", {{"Problem", error_schema()}}},
        {"securitySchemes",
         {{"ApiKey",
           {{"type", "http"},
            {"scheme", "bearer"},
            {"bearerFormat", "pb API key (pb_<id>_<secret>)"},
            {"description", "An API key as `Authorization: Bearer pb_…`"}}},
          {"ApiKeyHeader",
           {{"type", "apiKey"},
            {"in", "header"},
            {"name", "X-API-Key"},
            {"description", "An API key as `X-API-Key: pb_…`"}}},
          {"BearerJwt",
           {{"type", "http"},
            {"scheme", "bearer"},
            {"bearerFormat", "JWT"},
            {"description",
             "A JWT from pb (tokens issue) or from a trusted issuer; its permissions or scope "
             "claim are the caller's permissions"}}}}}};
    // Shared row schemas and error responses once, under their names.
    for (auto& [path, item] : paths.items()) {
        for (auto& [method, o] : item.items()) {
            for (auto& [status, r] : o["responses"].items()) {
                if (r.contains(k_response_name)) {
                    const auto name = r[k_response_name].get<std::string>();
                    r.erase(k_response_name);
                    auto& slot = components["responses"][name];
                    if (!slot.is_null() && slot != r) {
                        throw Error(ErrorCode::internal,
                                    "openapi: two different responses are named " + name);
                    }
                    slot = r;
                    r = json{{"$ref", "#/components/responses/" + name}};
                    continue;
                }
                if (r.contains("content") && r["content"].contains("application/json")) {
                    hoist_named_schemas(r["content"]["application/json"]["schema"],
                                        components["schemas"]);
                }
            }
            if (o.contains("requestBody")) {
                hoist_named_schemas(o["requestBody"]["content"]["application/json"]["schema"],
                                    components["schemas"]);
            }
            if (o.contains("parameters")) {
                for (auto& p : o["parameters"]) {
                    if (p.contains("schema")) {
                        hoist_named_schemas(p["schema"], components["schemas"]);
                    }
                }
            }
        }
    }
    json tags = json::array();
    for (const auto& g : groups) {
        tags.push_back({{"name", g},
                        {"description", g == "pbd" ? std::string("pbd's own routes")
                                                   : "The " + g + " ops (pbctl " + g + ")"}});
    }
    return json{{"openapi", "3.1.0"},
                {"info",
                 {{"title", "pbd"},
                  {"version", std::string(version)},
                  {"summary", "API keys, tokens, states, bans, limits, secrets and actions"},
                  {"license", {{"name", "MIT"}, {"identifier", "MIT"}}},
                  {"description", k_description}}},
                {"servers",
                 {{{"url", "http://127.0.0.1:8700"},
                   {"description", "pbd's default address (server.listen)"}}}},
                {"tags", tags},
                {"paths", paths},
                {"components", components}};
}

std::vector<std::string> documented_routes(const json& document) {
    std::vector<std::string> out;
    for (const auto& [path, item] : document.at("paths").items()) {
        for (const auto& [method, o] : item.items()) {
            std::string upper = method;
            std::transform(upper.begin(), upper.end(), upper.begin(),
                           [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
            out.push_back(upper + " " + path);
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace pb::docs
