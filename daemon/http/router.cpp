#include "daemon/http/router.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <optional>

#include "common/core/build_info.hpp"
#include "common/core/log.hpp"
#include "common/core/problem.hpp"
#include "common/core/rate.hpp"
#include "common/docs/asyncapi.hpp"
#include "common/docs/openapi.hpp"
#include "common/keys/redact.hpp"
#include "common/limits/ban_service.hpp"
#include "common/runtime/dispatcher.hpp"
#include "common/tokens/key_ring.hpp"
#include "daemon/admission/request_admission.hpp"
#include "daemon/http/op_args.hpp"

namespace pb::daemon {
namespace {

using nlohmann::json;

constexpr std::string_view k_json = "application/json";

// The one op a client may cache and ask with HEAD: pb's JWKS, which JWKS
// clients fetch with both. Its max-age is safe: tokens::k_publish_ahead_ms.
constexpr std::string_view k_head_answered = "tokens.jwks";
const std::string k_jwks_cache_control =
    "public, max-age=" + std::to_string(tokens::k_jwks_max_age_s);

// Serialises without throwing on bytes that are not UTF-8 (a percent-decoded
// id can hold anything, and error messages may echo it).
std::string dump(const json& j) {
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Every HTTP error is an RFC 9457 problem document (common/core/problem.hpp).
void write_error(Response& response, const Error& e, int status) {
    response.status = status;
    response.content_type = k_problem_content_type;
    // Router errors echo the path ("no route for GET /v1/keys/pb_…"): never a whole API key.
    response.body = dump(problem_document(keys::redact_keys_error(e), status));
    if (e.code() == ErrorCode::unauthenticated) {
        response.headers.emplace_back("WWW-Authenticate", "Bearer");
    }
}

bool is_db_failure(const Error& e) {
    // Redis failures carry details.redis and are counted as such (pb_redis_*).
    return (e.code() == ErrorCode::unavailable || e.code() == ErrorCode::internal) &&
           !e.details().contains("redis");
}

// A result that is a rate-limit decision (limits.check, limits.status) is also
// told in the RateLimit fields, so HTTP clients need not read the body. They
// describe the identifier asked about, not the caller's own limits (answered
// by the gate until here): one answer's fields tell of one subject.
void add_decision_fields(const json& result, Response& response) {
    const auto is_int = [&](const char* k) {
        return result.contains(k) && result[k].is_number_integer();
    };
    if (!result.is_object() || !is_int("limit") || !is_int("remaining") ||
        !is_int("reset_after_ms") || !is_int("retry_after_ms") || !result.contains("scope") ||
        !result["scope"].is_string() || !result.contains("policy") ||
        !result["policy"].is_object()) {
        return;
    }
    const auto& policy = result["policy"];
    const auto rate = parse_rate(policy.value("rate", std::string()),
                                 policy.value("burst", std::int64_t{0}), "policy");
    if (!rate) {
        return;
    }
    limits::LimitResult decision;
    decision.allowed = result.value("allowed", true);
    decision.limit = result["limit"].get<std::int64_t>();
    decision.remaining = result["remaining"].get<std::int64_t>();
    decision.reset_after_ms = result["reset_after_ms"].get<std::int64_t>();
    decision.retry_after_ms = result["retry_after_ms"].get<std::int64_t>();
    decision.window_ms = (rate->burst * rate->interval_us() + 999) / 1000;
    const auto scope = result["scope"].get<std::string>();
    const std::array applied{AppliedLimit{scope, decision}};
    set_rate_limit_fields(applied, response);
}

}  // namespace

Router::Router(Services& services, const ops::OpTable& table, Metrics& metrics)
    : m_services(services),
      m_table(table),
      m_metrics(metrics),
      m_admission(services.admission()),
      m_openapi(dump(docs::openapi_document(table, build_info::version()))),
      m_asyncapi(dump(docs::asyncapi_document(table, build_info::version()))),
      m_crowdsec(services) {
    // Fail at start, not on the first request, when a bans/limits setting is bad.
    m_services.bans().refresh();
    if (auto identity = tokens::identity_token_settings_from_config(services.config());
        identity.enabled) {
        m_identity = std::make_unique<tokens::IdentityTokens>(services.tokens(), services.clock(),
                                                              std::move(identity));
    }
    for (const auto& op : table.all()) {
        if (op.websocket_only()) {
            continue;  // a message on /ws, not a route
        }
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
    std::vector<std::string> out{"GET /ready",        "GET /metrics", "GET /v1/auth",
                                 "GET /openapi.json", "GET /ws",      "GET /asyncapi.json"};
    for (auto& r : CrowdSecRoutes::routes()) {
        out.push_back(std::move(r));
    }
    for (const auto& op : table.all()) {
        if (!op.websocket_only()) {
            out.push_back(op.route.method + " " + op.route.path);
        }
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
    auto found = m_table.match(method, path);
    if (found.op == nullptr && method == "HEAD") {
        auto get = match("GET", path);
        if (get.op != nullptr && get.op->name == k_head_answered) {
            return get;
        }
    }
    return found;
}

admission::Plan Router::plan(const Request& request) const {
    const auto q = request.target.find('?');
    const auto path = request.target.substr(0, q);
    if (path == "/ready" || path == "/metrics") {
        return {};
    }
    if (path == "/v1/auth") {
        if (request.method != "GET") {
            return {};
        }
        // As auth() reads ?anonymous=1, without decoding the query.
        const auto query =
            q == std::string_view::npos ? std::string_view{} : request.target.substr(q + 1);
        auto facts = facts_of(request, admission::Door::auth);
        if (query.find("anonymous=1") != std::string_view::npos ||
            query.find("anonymous=true") != std::string_view::npos) {
            facts.anonymous = admission::Anonymous::allowed;
        }
        return m_admission.plan(facts);
    }
    if (CrowdSecRoutes::owns(path)) {
        if (request.method != "GET" && request.method != "HEAD") {
            return {};
        }
        auto facts = facts_of(request, admission::Door::auth);
        facts.permission = CrowdSecRoutes::k_permission;
        return m_admission.plan(facts);
    }
    if (path == "/openapi.json" || path == "/asyncapi.json") {
        // No op: the address's bans and limit, like a public op's route.
        return request.method == "GET" ? m_admission.plan(facts_of(request, admission::Door::route))
                                       : admission::Plan{};
    }
    const auto found = match(request.method, path);
    if (found.op == nullptr) {
        return {};
    }
    auto facts = facts_of(request, admission::Door::route);
    facts.op = found.op;
    return m_admission.plan(facts);
}

std::string Router::allowed_methods(std::string_view path) const {
    if (path == "/ready" || path == "/metrics" || path == "/openapi.json" ||
        path == "/asyncapi.json") {
        return "GET";
    }
    std::string allow;
    for (const auto& m : m_methods) {
        if (match(m, path).op != nullptr) {
            allow += (allow.empty() ? "" : ", ") + m;
        }
    }
    if (const auto get = match("GET", path); get.op != nullptr && get.op->name == k_head_answered) {
        allow += ", HEAD";
    }
    return allow;
}

int Router::own_route(const Request& request, std::string_view path, std::size_t& slot,
                      Response& response) {
    const bool is_ready = path == "/ready";
    slot = is_ready ? m_metrics.ready_slot() : m_metrics.metrics_slot();
    if (request.method != "GET") {
        response.headers.emplace_back("Allow", "GET");
        throw StatusError(405, ErrorCode::invalid_argument, std::string(path) + " only answers GET",
                          {{"allow", "GET"}});
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

const ops::Op& Router::op_of(const Request& request, std::string_view path,
                             ops::OpTable::RouteMatch& found, Response& response) const {
    found = match(request.method, path);
    if (found.op != nullptr) {
        return *found.op;
    }
    // The path as pbd logs it: a key where a key's id belongs is not echoed.
    const auto shown = keys::redact_keys_in_target(path);
    if (found.path_known) {
        auto allow = allowed_methods(path);
        response.headers.emplace_back("Allow", allow);
        throw StatusError(405, ErrorCode::invalid_argument,
                          shown + " does not answer " + std::string(request.method),
                          {{"method", std::string(request.method)}, {"allow", allow}});
    }
    throw Error(ErrorCode::not_found, "no route for " + std::string(request.method) + " " + shown,
                {{"path", shown}});
}

int Router::route(const Request& request, std::string_view path, std::string_view query,
                  std::size_t& slot, Response& response) {
    // /ready and /metrics are the host's: no admission at all.
    if (path == "/ready" || path == "/metrics") {
        return own_route(request, path, slot, response);
    }
    if (path == "/v1/auth") {
        slot = m_metrics.auth_slot();
        return auth(request, query, response);
    }
    if (path == "/openapi.json" || path == "/asyncapi.json") {
        return api_document(request, path, slot, response);
    }
    if (CrowdSecRoutes::owns(path)) {
        slot = path == "/v1/decisions" ? m_metrics.decisions_slot()
                                       : m_metrics.decisions_stream_slot();
        try {
            return m_crowdsec.handle(request, path, query, response);
        } catch (const Error& e) {
            if (is_db_failure(e)) {
                m_metrics.count_db_error();
            }
            throw;
        }
    }
    ops::OpTable::RouteMatch found;
    const auto& op = op_of(request, path, found, response);
    slot = m_metrics.op_slot(op);

    static const ops::Caller k_anonymous{"anonymous", {}};
    try {
        auto facts = facts_of(request, admission::Door::route);
        facts.op = &op;
        const auto verdict = m_admission.admit(facts);
        // A caller without the op's permission is refused by dispatch(),
        // which audits a refused mutating op; nothing was spent on it.
        enforce(verdict, response, PermissionRefusal::dispatched);
        const auto args = op_args(request, found, query);
        auto result = runtime::dispatch(
            m_services, op, args, verdict.credential ? verdict.credential->caller : k_anonymous,
            ops::NameStyle::field);
        add_decision_fields(result, response);
        if (op.name == k_head_answered) {
            response.headers.emplace_back("Cache-Control", k_jwks_cache_control);
        }
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

// Public like /.well-known/jwks.json: the address's bans and limit apply.
int Router::api_document(const Request& request, std::string_view path, std::size_t& slot,
                         Response& response) {
    const bool openapi = path == "/openapi.json";
    slot = openapi ? m_metrics.openapi_slot() : m_metrics.asyncapi_slot();
    if (request.method != "GET") {
        response.headers.emplace_back("Allow", "GET");
        throw StatusError(405, ErrorCode::invalid_argument, std::string(path) + " only answers GET",
                          {{"allow", "GET"}});
    }
    enforce(m_admission.admit(facts_of(request, admission::Door::route)), response);
    response.content_type = k_json;
    response.body = openapi ? m_openapi : m_asyncapi;
    return 200;
}

int Router::auth(const Request& request, std::string_view query, Response& response) {
    if (request.method != "GET") {
        response.headers.emplace_back("Allow", "GET");
        throw StatusError(405, ErrorCode::invalid_argument, "/v1/auth only answers GET",
                          {{"allow", "GET"}});
    }
    const auto q = query_args(query);
    auto facts = facts_of(request, admission::Door::auth);
    const auto anonymous = q.value("anonymous", std::string());
    if (anonymous == "1" || anonymous == "true") {
        facts.anonymous = admission::Anonymous::allowed;
    }
    const auto permission = q.contains("permission") && q["permission"].is_string()
                                ? q["permission"].get<std::string>()
                                : std::string();
    facts.permission = permission;
    const auto verdict = [&] {
        try {
            return m_admission.admit(facts);
        } catch (const Error& e) {
            m_metrics.count_gate(e.code() == ErrorCode::unavailable ? "unavailable" : "other");
            throw;
        }
    }();
    m_metrics.count_gate(verdict.admitted() ? std::string_view("allowed")
                                            : std::string_view(verdict.reason));

    add_rate_limit_fields(verdict, response);
    json out{{"allowed", true}};
    const bool address_passed =
        verdict.step != admission::Step::ban && verdict.step != admission::Step::limit;
    if (verdict.client && address_passed) {
        out["client_ip"] = limits::to_string(*verdict.client);
        response.headers.emplace_back("X-PB-Client-IP", out["client_ip"].get<std::string>());
    }
    if (!verdict.admitted()) {
        throw refusal_of(verdict);
    }
    if (verdict.credential) {
        const auto& caller = verdict.credential->caller;
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
        if (m_identity) {
            response.headers.emplace_back(tokens::k_identity_header, m_identity->token_for(caller));
        }
        out["subject"] = caller.subject;
        out["permissions"] = caller.permissions;
        out["actor"] = caller.actor;
    }
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
    if (std::none_of(response.headers.begin(), response.headers.end(),
                     [](const auto& h) { return h.first == "Cache-Control"; })) {
        response.headers.emplace_back("Cache-Control", "no-store");
    }
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
