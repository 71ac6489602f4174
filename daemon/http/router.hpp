#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/admission/pipeline.hpp"
#include "common/core/error.hpp"
#include "common/ops/registry.hpp"
#include "common/runtime/services.hpp"
#include "common/tokens/identity_token.hpp"
#include "daemon/http/crowdsec_routes.hpp"
#include "daemon/http/request.hpp"
#include "daemon/metrics/metrics.hpp"

namespace pb::daemon {

// Turns a Request into a Response, knowing nothing of the transport. Every
// request but /ready and /metrics is admitted first (admission::Pipeline:
// client address, bans, limits, credential, permission). Routes come from
// the op table (args = path captures + query parameters + a JSON
// body object, then runtime::dispatch), plus pbd's own /ready and /metrics.
// Every answer is JSON with Cache-Control: no-store (but /metrics, and the
// JWKS, which clients may cache: public, max-age, and answers HEAD); every
// error is an RFC 9457 problem document (application/problem+json,
// common/core/problem.hpp) with Error's HTTP status. Records each
// answer in `metrics`. Thread-safe: handle() is called from every worker thread.
class Router {
  public:
    // `services`, `table` and `metrics` must outlive the router.
    Router(Services& services, const ops::OpTable& table, Metrics& metrics);

    // Answers `request` into `response` (cleared first). Never throws.
    void handle(const Request& request, Response& response);

    // Answers a request the transport refused before routing (body or header
    // too large, malformed HTTP, too many connections) with `status` and an
    // error of `code`. Never throws.
    void reject(const Request& request, int status, ErrorCode code, std::string_view message,
                Response& response);

    // The Redis checks handle() will make for `request` (its address, its
    // caller: admission::Pipeline::plan), so the transport can make them
    // first without blocking (limits::check_ahead). A check made here that
    // handle() then does not make (a request refused on the way) spends one
    // request of that limit. The credential, when one had to be verified for
    // them, is in the plan: pass it back in Request::authenticated.
    admission::Plan plan(const Request& request) const;

    // While not ready (starting, draining) GET /ready answers 503.
    void set_ready(bool ready) { m_ready.store(ready, std::memory_order_relaxed); }

    // "METHOD /path" of every route pbd answers: the table's (its WebSocket
    // ops are messages on /ws, not routes), the router's own (/ready,
    // /metrics, /v1/auth, /openapi.json, /asyncapi.json, CrowdSec's
    // /v1/decisions…) and /ws (taken by the
    // connection before the router). GET /openapi.json describes exactly these
    // (tests/daemon/openapi_test.cpp compares; `pbd --routes` prints them).
    static std::vector<std::string> routes(const ops::OpTable& table);

  private:
    int route(const Request& request, std::string_view path, std::string_view query,
              std::size_t& slot, Response& response);
    // GET /v1/auth: the reverse-proxy gate (nginx auth_request).
    // GET /ready and /metrics: the host's own, never admitted.
    int own_route(const Request& request, std::string_view path, std::size_t& slot,
                  Response& response);
    // GET /openapi.json and /asyncapi.json: the API documents, made once.
    int api_document(const Request& request, std::string_view path, std::size_t& slot,
                     Response& response);
    int auth(const Request& request, std::string_view query, Response& response);
    // The op `request` asks for: found, or Error(not_found) / 405 with Allow.
    const ops::Op& op_of(const Request& request, std::string_view path,
                         ops::OpTable::RouteMatch& match, Response& response) const;
    std::string allowed_methods(std::string_view path) const;
    // op_table().match(), with a shortcut for routes without captures; HEAD
    // finds the JWKS's GET route (k_head_answered).
    ops::OpTable::RouteMatch match(std::string_view method, std::string_view path) const;

    Services& m_services;
    const ops::OpTable& m_table;
    Metrics& m_metrics;
    const admission::Pipeline& m_admission;
    std::vector<std::string> m_methods;  // every method some route uses
    // "METHOD path" of each op whose route has no {capture}: what match()
    // would answer for exactly that path, found without its per-call
    // allocations. Built from the table once; everything else goes to match().
    std::unordered_map<std::string, const ops::Op*> m_literal_routes;
    std::atomic<bool> m_ready{false};
    std::string m_openapi;      // GET /openapi.json's body, made once from the table
    std::string m_asyncapi;     // GET /asyncapi.json's body, likewise
    CrowdSecRoutes m_crowdsec;  // /v1/decisions, /v1/decisions/stream
    // /v1/auth's X-PB-Identity-Token; null unless gate.identity_token.enabled.
    std::unique_ptr<tokens::IdentityTokens> m_identity;
};

}  // namespace pb::daemon
