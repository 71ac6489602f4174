#include "daemon/router.hpp"

#include <algorithm>
#include <chrono>
#include <optional>

#include "common/core/build_info.hpp"
#include "common/core/json_parse.hpp"
#include "common/core/log.hpp"
#include "common/core/percent.hpp"
#include "common/docs/openapi.hpp"
#include "common/keys/redact.hpp"
#include "common/runtime/dispatcher.hpp"
#include "daemon/auth.hpp"

namespace pb::daemon {
namespace {

using nlohmann::json;

constexpr std::string_view k_json = "application/json";

// An Error answered with a status other than http_status(code): 405, 413, 415, 431.
class StatusError : public Error {
  public:
    StatusError(int status, ErrorCode code, std::string message, json details = json::object())
        : Error(code, std::move(message), std::move(details)), m_status(status) {}
    int status() const { return m_status; }

  private:
    int m_status;
};

// Serialises without throwing on bytes that are not UTF-8 (a percent-decoded
// id can hold anything, and error messages may echo it).
std::string dump(const json& j) {
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

void write_error(Response& response, const Error& e, int status) {
    response.status = status;
    response.content_type = k_json;
    // Router errors echo the path ("no route for GET /v1/keys/pb_…"): never a whole API key.
    response.body = dump(json{{"error", keys::redact_keys_error(e).to_json()}});
    if (e.code() == ErrorCode::unauthenticated) {
        response.headers.emplace_back("WWW-Authenticate", "Bearer");
    }
}

// Decodes %XX escapes; Error(invalid_argument) on a broken one.
std::string percent_decode_arg(std::string_view s, Plus plus) {
    auto out = percent_decode(s, plus);
    if (!out) {
        throw Error(ErrorCode::invalid_argument, "malformed percent-encoding in the URL");
    }
    return *out;
}

Error given_twice(const std::string& name) {
    return Error(ErrorCode::invalid_argument,
                 "argument \"" + name + "\" is given more than once (path, query or body)",
                 {{"param", name}});
}

// Adds query parameters to `args`; a repeated name becomes an array.
void add_query(std::string_view query, const json& captures, json& args) {
    while (!query.empty()) {
        const auto amp = query.find('&');
        const auto pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        if (pair.empty()) {
            continue;
        }
        const auto eq = pair.find('=');
        auto name = percent_decode_arg(pair.substr(0, eq), Plus::space);
        auto value = eq == std::string_view::npos
                         ? std::string()
                         : percent_decode_arg(pair.substr(eq + 1), Plus::space);
        if (captures.contains(name)) {
            throw given_twice(name);
        }
        auto it = args.find(name);
        if (it == args.end()) {
            args.emplace(std::move(name), std::move(value));
        } else if (it->is_array()) {
            it->push_back(std::move(value));
        } else {
            *it = json::array({std::move(*it), std::move(value)});
        }
    }
}

// The JSON object a request body carries, merged into `args`.
void add_body(const Request& request, json& args) {
    if (request.body.empty()) {
        return;
    }
    const auto type = request.header("Content-Type");
    auto media = type.substr(0, type.find(';'));
    while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) {
        media.remove_suffix(1);
    }
    if (!iequals(media, k_json)) {
        throw StatusError(415, ErrorCode::invalid_argument,
                          "a request body must be JSON (Content-Type: application/json)",
                          {{"content_type", std::string(type)}});
    }
    auto body = parse_json(request.body, "request body");
    if (!body.is_object()) {
        throw Error(ErrorCode::invalid_argument, "the request body must be a JSON object");
    }
    if (args.empty()) {
        args = std::move(body);
        return;
    }
    for (auto& [name, value] : body.items()) {
        if (args.contains(name)) {
            throw given_twice(name);
        }
        args[name] = std::move(value);
    }
}

// The host's own probes (/health) pass a ban (not a rate limit), even one of
// 0.0.0.0/0 made with --force: the operator keeps seeing pbd from the machine
// it runs on. (/ready and /metrics pass no ban at all.)
bool is_operator_probe(std::string_view path, const std::optional<limits::IpAddress>& client) {
    if (path != "/health" || !client) {
        return false;
    }
    if (client->family == limits::IpFamily::v4) {
        return (client->bits.lo >> 24) == 127;
    }
    return client->bits == limits::U128{0, 1};
}

bool is_db_failure(const Error& e) {
    // Redis failures carry details.redis and are counted as such (pb_redis_*).
    return (e.code() == ErrorCode::unavailable || e.code() == ErrorCode::internal) &&
           !e.details().contains("redis");
}

// A result that is a rate-limit decision (limits.check, limits.status) is also
// told in the standard headers, so HTTP clients need not read the body.
void add_decision_headers(const json& result, Response& response) {
    const auto is_int = [&](const char* k) {
        return result.contains(k) && result[k].is_number_integer();
    };
    if (!result.is_object() || !is_int("limit") || !is_int("remaining") ||
        !is_int("reset_after_ms") || !is_int("retry_after_ms")) {
        return;
    }
    limits::LimitResult decision;
    decision.allowed = result.value("allowed", true);
    decision.limit = result["limit"].get<std::int64_t>();
    decision.remaining = result["remaining"].get<std::int64_t>();
    decision.reset_after_ms = result["reset_after_ms"].get<std::int64_t>();
    decision.retry_after_ms = result["retry_after_ms"].get<std::int64_t>();
    add_rate_limit_headers(decision, response);
}

}  // namespace

Router::Router(Services& services, const ops::OpTable& table, Metrics& metrics)
    : m_services(services),
      m_table(table),
      m_metrics(metrics),
      m_gate(services, services.config().get("server.trusted_proxies")),
      m_openapi(dump(docs::openapi_document(table, build_info::version()))) {
    for (const auto& op : table.all()) {
        if (std::find(m_methods.begin(), m_methods.end(), op.route.method) == m_methods.end()) {
            m_methods.push_back(op.route.method);
        }
        if (op.route.path.find('{') == std::string::npos &&
            table.match(op.route.method, op.route.path).op == &op) {
            m_literal_routes.emplace(op.route.method + " " + op.route.path, &op);
        }
    }
}

std::vector<std::string> Router::routes(const ops::OpTable& table) {
    std::vector<std::string> out{"GET /ready", "GET /metrics", "GET /v1/auth", "GET /openapi.json",
                                 "GET /ws"};
    for (const auto& op : table.all()) {
        out.push_back(op.route.method + " " + op.route.path);
    }
    std::sort(out.begin(), out.end());
    return out;
}

ops::OpTable::RouteMatch Router::match(std::string_view method, std::string_view path) const {
    thread_local std::string key;
    key.assign(method);
    key += ' ';
    key += path;
    if (const auto it = m_literal_routes.find(key); it != m_literal_routes.end()) {
        ops::OpTable::RouteMatch found;
        found.op = it->second;
        return found;
    }
    return m_table.match(method, path);
}

std::vector<limits::RedisCall> Router::redis_calls(const Request& request,
                                                   std::optional<Credential>& caller) const {
    const auto q = request.target.find('?');
    const auto path = request.target.substr(0, q);
    if (path == "/ready" || path == "/metrics") {
        return {};
    }
    bool with_caller = false;
    if (path == "/openapi.json") {
        return m_gate.redis_calls(m_gate.client_address(request), nullptr, caller);
    }
    if (path == "/v1/auth") {
        if (request.method != "GET") {
            return {};
        }
        // As auth() reads ?anonymous=1: without a credential, no caller.
        const auto query =
            q == std::string_view::npos ? std::string_view{} : request.target.substr(q + 1);
        const bool anonymous = (query.find("anonymous=1") != std::string_view::npos ||
                                query.find("anonymous=true") != std::string_view::npos);
        with_caller = !(anonymous && presented_key(request).empty());
    } else {
        const auto found = match(request.method, path);
        if (found.op == nullptr) {
            return {};
        }
        with_caller = !found.op->permission.empty();
    }
    return m_gate.redis_calls(m_gate.client_address(request), with_caller ? &request : nullptr,
                              caller);
}

std::string Router::allowed_methods(std::string_view path) const {
    if (path == "/ready" || path == "/metrics") {
        return "GET";
    }
    if (path == "/openapi.json") {
        return "GET";
    }
    std::string allow;
    for (const auto& m : m_methods) {
        if (match(m, path).op != nullptr) {
            allow += (allow.empty() ? "" : ", ") + m;
        }
    }
    return allow;
}

int Router::route(const Request& request, std::string_view path, std::string_view query,
                  std::size_t& slot, Response& response) {
    const bool is_ready = path == "/ready";
    if (is_ready || path == "/metrics") {
        slot = is_ready ? m_metrics.ready_slot() : m_metrics.metrics_slot();
        if (request.method != "GET") {
            response.headers.emplace_back("Allow", "GET");
            throw StatusError(405, ErrorCode::invalid_argument,
                              std::string(path) + " only answers GET", {{"allow", "GET"}});
        }
        if (!is_ready) {
            response.content_type = Metrics::k_content_type;
            response.body = m_metrics.render();
            return 200;
        }
        if (!m_ready.load(std::memory_order_relaxed)) {
            throw Error(ErrorCode::unavailable, "pbd is not ready (starting or shutting down)");
        }
        response.content_type = k_json;
        response.body = R"({"status":"ready"})";
        return 200;
    }

    const auto client = m_gate.client_address(request);
    if (path == "/v1/auth") {
        slot = m_metrics.auth_slot();
        return auth(request, query, client, response);
    }
    if (path == "/openapi.json") {
        // Public like /.well-known/jwks.json: bans and the address's limit apply.
        slot = m_metrics.openapi_slot();
        if (request.method != "GET") {
            response.headers.emplace_back("Allow", "GET");
            throw StatusError(405, ErrorCode::invalid_argument, "/openapi.json only answers GET",
                              {{"allow", "GET"}});
        }
        m_gate.admit_address(client, response);
        response.content_type = k_json;
        response.body = m_openapi;
        return 200;
    }
    const auto match = this->match(request.method, path);
    if (match.op == nullptr) {
        if (match.path_known) {
            auto allow = allowed_methods(path);
            response.headers.emplace_back("Allow", allow);
            throw StatusError(405, ErrorCode::invalid_argument,
                              std::string(path) + " does not answer " + std::string(request.method),
                              {{"method", std::string(request.method)}, {"allow", allow}});
        }
        throw Error(ErrorCode::not_found,
                    "no route for " + std::string(request.method) + " " + std::string(path),
                    {{"path", std::string(path)}});
    }
    const auto& op = *match.op;
    slot = m_metrics.op_slot(op);

    static const ops::Caller k_anonymous{"anonymous", {}};
    std::optional<ops::Caller> caller;
    json args = json::object();
    try {
        try {
            m_gate.admit_address(client, response);
        } catch (const Error& e) {
            // Spared the ban only: rate limits still apply.
            if (e.code() != ErrorCode::banned || !is_operator_probe(path, client)) {
                throw;
            }
        }
        if (!op.permission.empty()) {
            const auto credential = identify(m_services, request);
            m_gate.admit_caller(client, credential, response);
            caller = credential.caller;
        }
        for (const auto& [name, value] : match.captures) {
            args[name] = percent_decode_arg(value, Plus::literal);
        }
        if (!query.empty()) {
            const json captures = args;
            add_query(query, captures, args);
        }
        add_body(request, args);
        auto result = runtime::dispatch(m_services, op, args, caller ? *caller : k_anonymous,
                                        ops::NameStyle::field);
        add_decision_headers(result, response);
        response.content_type = k_json;
        response.body = dump(result);
        return op.route.success_status;
    } catch (const Error& e) {
        if (is_db_failure(e)) {
            m_metrics.count_db_error();
        }
        throw;
    }
}

int Router::auth(const Request& request, std::string_view query,
                 const std::optional<limits::IpAddress>& client, Response& response) {
    if (request.method != "GET") {
        response.headers.emplace_back("Allow", "GET");
        throw StatusError(405, ErrorCode::invalid_argument, "/v1/auth only answers GET",
                          {{"allow", "GET"}});
    }
    json q = json::object();
    add_query(query, json::object(), q);
    m_gate.admit_address(client, response, limits::LimitUse::decision);
    json out{{"allowed", true}};
    if (client) {
        out["client_ip"] = limits::to_string(*client);
        response.headers.emplace_back("X-PB-Client-IP", out["client_ip"].get<std::string>());
    }
    const auto anonymous =
        q.value("anonymous", std::string()) == "1" || q.value("anonymous", std::string()) == "true";
    if (presented_key(request).empty() && anonymous) {
        response.content_type = k_json;
        response.body = dump(out);
        return 200;
    }
    const auto credential = identify(m_services, request);
    m_gate.admit_caller(client, credential, response, limits::LimitUse::decision);
    const auto& caller = credential.caller;
    if (q.contains("permission") && q["permission"].is_string() &&
        !ops::has_permission(caller.permissions, q["permission"].get<std::string>())) {
        throw Error(
            ErrorCode::permission_denied,
            "the caller lacks the permission \"" + q["permission"].get<std::string>() + "\"",
            {{"permission", q["permission"]}});
    }
    std::string permissions;
    for (const auto& p : caller.permissions) {
        permissions += (permissions.empty() ? "" : ",") + p;
    }
    response.headers.emplace_back("X-PB-Subject", caller.subject);
    response.headers.emplace_back("X-PB-Owner", caller.subject);
    response.headers.emplace_back("X-PB-Permissions", permissions);
    if (!caller.key_id.empty()) {
        response.headers.emplace_back("X-PB-Key-Id", caller.key_id);
    }
    out["subject"] = caller.subject;
    out["permissions"] = caller.permissions;
    out["actor"] = caller.actor;
    response.content_type = k_json;
    response.body = dump(out);
    return 200;
}

void Router::handle(const Request& request, Response& response) {
    const auto start = std::chrono::steady_clock::now();
    response.clear();
    const auto q = request.target.find('?');
    const auto path = request.target.substr(0, q);
    const auto query =
        q == std::string_view::npos ? std::string_view{} : request.target.substr(q + 1);
    std::size_t slot = m_metrics.unmatched_slot(request.method);
    static const auto logger = log::get("daemon.http");
    try {
        response.status = route(request, path, query, slot, response);
    } catch (const StatusError& e) {
        write_error(response, e, e.status());
    } catch (const Error& e) {
        write_error(response, e, http_status(e.code()));
        if (e.code() == ErrorCode::internal || e.code() == ErrorCode::unavailable) {
            logger->warn("{} {}: {}: {}", request.method, keys::redact_keys_in_target(path),
                         to_string(e.code()), keys::redact_keys(e.what()));
        }
    } catch (const std::exception& e) {
        // A bug or a library failure: logged here, never shown to the caller.
        logger->error("{} {}: unexpected failure: {}", request.method,
                      keys::redact_keys_in_target(path), keys::redact_keys(e.what()));
        write_error(response, Error(ErrorCode::internal, "internal error"), 500);
    }
    response.headers.emplace_back("Cache-Control", "no-store");
    const auto elapsed = std::chrono::steady_clock::now() - start;
    m_metrics.record(slot, response.status, elapsed);
    if (logger->should_log(spdlog::level::debug)) {
        logger->debug("{} {} {} {}us from {}", request.method, keys::redact_keys_in_target(path),
                      response.status,
                      std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count(),
                      request.remote);
    }
}

void Router::reject(const Request& request, int status, ErrorCode code, std::string_view message,
                    Response& response) {
    response.clear();
    write_error(response, Error(code, std::string(message)), status);
    response.headers.emplace_back("Cache-Control", "no-store");
    m_metrics.record(m_metrics.rejected_slot(request.method), status, std::chrono::nanoseconds(0));
    static const auto logger = log::get("daemon.http");
    if (logger->should_log(spdlog::level::debug)) {
        logger->debug("rejected {} from {}: {} {}", keys::redact_keys_in_target(request.target),
                      request.remote, status, keys::redact_keys(message));
    }
}

}  // namespace pb::daemon
