#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ops/op.hpp"
#include "common/ops/route_template.hpp"

namespace pb::ops {

// The table of operations. Filled once at start (runtime::op_table());
// read-only (and so thread-safe) afterwards.
class OpTable {
  public:
    // Adds an op; throws Error(internal) for a duplicate name or route, a
    // WebSocket op with a route or another op without one.
    void add(Op op);
    const Op* find(std::string_view name) const;
    const std::vector<Op>& all() const { return m_ops; }

    struct RouteMatch {
        const Op* op = nullptr;
        // As sent, still percent-encoded (RouteTemplate::captures).
        std::map<std::string, std::string> captures;
        bool path_known = false;  // the path exists under another method (405)
    };
    // The op whose route matches (WebSocket ops have none); literal segments win over {captures}. A
    // last segment "{name...}" captures one or more segments with their slashes
    // ("/v1/secrets/{path...}" matches "/v1/secrets/app/db" with path "app/db");
    // a fixed-length route wins over a tail capture with as many literals.
    RouteMatch match(std::string_view method, std::string_view path) const;

  private:
    std::vector<Op> m_ops;
    // Each op's route, parsed once, so matching allocates nothing.
    std::vector<RouteTemplate> m_routes;
};

}  // namespace pb::ops
