#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/core/outcomes.hpp"
#include "common/ops/registry.hpp"

namespace pb::daemon {

// pbd's Prometheus metrics. Every route has a fixed slot, computed once from
// the op table, and each slot holds plain atomic counters spread over a few
// per-thread shards: recording a request takes no lock and, with one shard per
// worker thread, shares no cache line. Thread-safe.
class Metrics {
  public:
    // One slot per op of `table` (in table order), then /ready, /metrics, and
    // per-method slots for requests that match no route or are rejected before
    // routing. `table` must outlive this object.
    explicit Metrics(const ops::OpTable& table);
    ~Metrics();
    Metrics(const Metrics&) = delete;
    Metrics& operator=(const Metrics&) = delete;

    std::size_t op_slot(const ops::Op& op) const;
    // The routes pbd answers outside the op table, each a slot after the ops'.
    static constexpr std::size_t k_own_slots = 7;
    std::size_t ready_slot() const { return m_ops; }
    std::size_t metrics_slot() const { return m_ops + 1; }
    std::size_t auth_slot() const { return m_ops + 2; }
    std::size_t openapi_slot() const { return m_ops + 3; }
    std::size_t asyncapi_slot() const { return m_ops + 4; }
    // CrowdSec's bouncer routes: GET /v1/decisions, GET /v1/decisions/stream.
    std::size_t decisions_slot() const { return m_ops + 5; }
    std::size_t decisions_stream_slot() const { return m_ops + 6; }
    // route="unmatched": no route for the path or the method (404, 405).
    std::size_t unmatched_slot(std::string_view method) const;
    // route="rejected": refused before routing (413, 431, overload, bad HTTP).
    std::size_t rejected_slot(std::string_view method) const;

    // Counts one answered request of `slot` with `status`, taking `elapsed`.
    void record(std::size_t slot, int status, std::chrono::nanoseconds elapsed);
    // Counts a database failure (an unavailable or internal error from a handler).
    void count_db_error() { m_db_errors.fetch_add(1, std::memory_order_relaxed); }
    // Counts one decision of the /v1/auth gate: "allowed", or the refusal's
    // reason (banned, rate_limited, missing, a key's or token's, permission_denied,
    // unavailable).
    void count_gate(std::string_view reason) { m_gate.count(reason); }
    void connection_opened() { m_connections.fetch_add(1, std::memory_order_relaxed); }
    void connection_closed() { m_connections.fetch_sub(1, std::memory_order_relaxed); }
    std::int64_t connections() const { return m_connections.load(std::memory_order_relaxed); }

    // Another part of pbd (the WebSocket hub) appends its own metrics to every
    // render. Set once, before serving.
    void set_extra(std::function<void(std::string&)> extra) { m_extra = std::move(extra); }

    // Everything in the Prometheus text format 0.0.4.
    std::string render() const;

    // The media type of render()'s output.
    static constexpr std::string_view k_content_type = "text/plain; version=0.0.4; charset=utf-8";

  private:
    struct Label {
        std::string route;
        std::string method;
    };
    struct Shard;

    Shard& shard();

    const ops::OpTable& m_table;
    std::size_t m_ops = 0;
    std::vector<Label> m_labels;  // one per slot
    std::unique_ptr<Shard[]> m_shards;
    std::atomic<std::uint64_t> m_db_errors{0};
    std::atomic<std::int64_t> m_connections{0};
    Outcomes m_gate{"allowed",         "banned",           "rate_limited", "permission_denied",
                    "missing",         "malformed",        "unknown",      "revoked",
                    "expired",         "exhausted",        "disabled",     "bad_signature",
                    "not_yet_valid",   "wrong_audience",   "wrong_issuer", "unknown_key",
                    "unsupported_alg", "wrong_token_type", "unavailable",  "other"};
    std::function<void(std::string&)> m_extra;
};

}  // namespace pb::daemon
