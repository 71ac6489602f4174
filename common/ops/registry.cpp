#include "common/ops/registry.hpp"

#include "common/core/error.hpp"
#include "common/ops/schema.hpp"

namespace pb::ops {

namespace {

// A paged list (an op that takes a cursor) answers next_cursor, null on the
// last page: said here once for every such op's schema and examples.
void add_next_cursor(Op& op) {
    if (op.find_param("cursor") == nullptr || !op.response.is_object() ||
        op.response.value("type", "") != "object" ||
        op.response["properties"].contains("next_cursor")) {
        return;
    }
    op.response["properties"]["next_cursor"] =
        schema::nullable(schema::string("Pass as cursor for the next page; null on the last page"));
    op.response["required"].push_back("next_cursor");
    for (auto& example : op.examples) {
        if (example.result.is_object() && !example.result.contains("next_cursor")) {
            example.result["next_cursor"] = nullptr;
        }
    }
}

}  // namespace

const Param* Op::find_param(std::string_view n) const {
    for (const auto& p : params) {
        if (p.name == n) {
            return &p;
        }
    }
    return nullptr;
}

void OpTable::add(Op op) {
    add_next_cursor(op);
    // A WebSocket op is a message, never a route; every other op has one.
    if (op.websocket_only() != op.route.path.empty()) {
        throw Error(ErrorCode::internal,
                    "op " + op.name + ": a route is for ops served everywhere, and only for them");
    }
    for (const auto& existing : m_ops) {
        if (existing.name == op.name) {
            throw Error(ErrorCode::internal, "op registered twice: " + op.name);
        }
        if (!op.websocket_only() && existing.route.method == op.route.method &&
            existing.route.path == op.route.path) {
            throw Error(ErrorCode::internal, "route registered twice: " + op.route.path);
        }
    }
    for (const auto& p : op.params) {
        // Words take the rest of pbctl's command line: only a positional JSON object can.
        if (p.words == FieldWords::yes &&
            (p.type != ParamType::json_object || p.positional != Positional::yes)) {
            throw Error(ErrorCode::internal, "NAME=VALUE words need a positional json_object: " +
                                                 op.name + " " + p.name);
        }
    }
    m_routes.emplace_back(op.route.path);
    m_ops.push_back(std::move(op));
}

const Op* OpTable::find(std::string_view name) const {
    for (const auto& op : m_ops) {
        if (op.name == name) {
            return &op;
        }
    }
    return nullptr;
}

OpTable::RouteMatch OpTable::match(std::string_view method, std::string_view path) const {
    RouteMatch best;
    PathSegments segments;
    if (!split_path(path, segments)) {
        return best;
    }
    int best_literals = -1;
    std::size_t best_index = 0;
    for (std::size_t i = 0; i < m_ops.size(); ++i) {
        if (m_ops[i].websocket_only()) {
            continue;  // no route
        }
        const int literals = m_routes[i].fit(segments);
        if (literals < 0) {
            continue;
        }
        if (m_ops[i].route.method != method) {
            best.path_known = true;
            continue;
        }
        // Between equal literals a fixed-length route is more specific than a tail.
        if (literals > best_literals ||
            (literals == best_literals && best.op != nullptr && m_routes[best_index].has_tail() &&
             !m_routes[i].has_tail())) {
            best_literals = literals;
            best_index = i;
            best.op = &m_ops[i];
        }
    }
    if (best.op != nullptr) {
        best.captures = m_routes[best_index].captures(segments);
    }
    return best;
}

bool has_permission(const std::vector<std::string>& granted, std::string_view needed) {
    if (needed.empty()) {
        return true;
    }
    const auto colon = needed.find(':');
    const auto group = needed.substr(0, colon);
    for (const auto& g : granted) {
        if (g == needed || g == "admin" || g == "*") {
            return true;
        }
        if (colon != std::string_view::npos && g.size() == group.size() + 2 && g.ends_with(":*") &&
            g.starts_with(group)) {
            return true;
        }
    }
    return false;
}

}  // namespace pb::ops
