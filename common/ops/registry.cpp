#include "common/ops/registry.hpp"

#include "common/core/error.hpp"

namespace pb::ops {
namespace {

std::vector<std::string_view> split_path(std::string_view path) {
    std::vector<std::string_view> out;
    while (!path.empty()) {
        if (path.front() == '/') {
            path.remove_prefix(1);
            continue;
        }
        const auto slash = path.find('/');
        out.push_back(path.substr(0, slash));
        path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash);
    }
    return out;
}

// Returns the number of literal segments matched, or -1 when the path does not fit.
int match_path(std::string_view pattern, std::string_view path,
               std::map<std::string, std::string>& captures) {
    const auto ps = split_path(pattern);
    const auto xs = split_path(path);
    if (ps.size() != xs.size()) {
        return -1;
    }
    int literals = 0;
    std::map<std::string, std::string> found;
    for (std::size_t i = 0; i < ps.size(); ++i) {
        if (ps[i].size() > 2 && ps[i].front() == '{' && ps[i].back() == '}') {
            found[std::string(ps[i].substr(1, ps[i].size() - 2))] = std::string(xs[i]);
        } else if (ps[i] == xs[i]) {
            ++literals;
        } else {
            return -1;
        }
    }
    captures = std::move(found);
    return literals;
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
    for (const auto& existing : m_ops) {
        if (existing.name == op.name) {
            throw Error(ErrorCode::internal, "op registered twice: " + op.name);
        }
        if (existing.route.method == op.route.method && existing.route.path == op.route.path) {
            throw Error(ErrorCode::internal, "route registered twice: " + op.route.path);
        }
    }
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
    int best_literals = -1;
    for (const auto& op : m_ops) {
        std::map<std::string, std::string> captures;
        const int literals = match_path(op.route.path, path, captures);
        if (literals < 0) {
            continue;
        }
        if (op.route.method != method) {
            best.path_known = true;
            continue;
        }
        if (literals > best_literals) {
            best_literals = literals;
            best.op = &op;
            best.captures = std::move(captures);
        }
    }
    return best;
}

bool has_permission(const std::vector<std::string>& granted, std::string_view needed) {
    if (needed.empty()) {
        return true;
    }
    const auto group = needed.substr(0, needed.find(':'));
    for (const auto& g : granted) {
        if (g == needed || g == "admin" || g == "*") {
            return true;
        }
        if (g.size() == group.size() + 2 && g.ends_with(":*") && g.starts_with(group)) {
            return true;
        }
    }
    return false;
}

}  // namespace pb::ops
