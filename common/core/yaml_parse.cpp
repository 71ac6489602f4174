#include "common/core/yaml_parse.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <utility>
#include <vector>

namespace pb {
namespace {

[[noreturn]] void too_deep(int line) {
    YAML::Mark mark;
    mark.line = line;
    throw YAML::ParserException(
        mark, "YAML nested deeper than " + std::to_string(k_max_yaml_depth) + " levels");
}

// The scan's state across lines: the columns of the open block nodes, the open
// flow brackets, an open quoted scalar, a block scalar's body being skipped.
class DepthScan {
  public:
    explicit DepthScan(std::size_t limit) : m_limit(limit) {}

    std::size_t deepest = 0;

    // False once the nesting went past the limit.
    bool line(std::string_view l) {
        if (!l.empty() && l.back() == '\r') {
            l.remove_suffix(1);
        }
        const std::size_t col = l.find_first_not_of(' ');
        const bool blank = col == std::string_view::npos || l[col] == '\t' || l[col] == '#';
        if (m_block_scalar >= 0) {
            if (blank || static_cast<long>(col) > m_block_scalar) {
                return true;  // text of a | or > scalar
            }
            m_block_scalar = -1;
        }
        if (m_quote != 0 || m_flow > 0) {
            return chars(l, 0, col == std::string_view::npos ? 0 : col);
        }
        if (blank) {
            return true;
        }
        if (col == 0 && (l.starts_with("---") || l.starts_with("...") || l.starts_with("%"))) {
            m_block.clear();  // a new document
            return true;
        }
        while (!m_block.empty() && m_block.back() >= col) {
            m_block.pop_back();
        }
        std::size_t p = col;
        // "- - - a" and "? key" open one node per indicator on a single line.
        while (p < l.size() && (l[p] == '-' || l[p] == '?') &&
               (p + 1 == l.size() || l[p + 1] == ' ')) {
            if (!push(p)) {
                return false;
            }
            p = l.find_first_not_of(' ', p + 1);
            if (p == std::string_view::npos) {
                return true;
            }
        }
        return push(p) && chars(l, p, col);
    }

  private:
    std::size_t m_limit;
    std::vector<std::size_t> m_block;
    std::size_t m_flow = 0;
    char m_quote = 0;
    long m_block_scalar = -1;

    bool check() {
        const std::size_t depth = m_block.size() + m_flow;
        deepest = std::max(deepest, depth);
        return depth <= m_limit;
    }

    bool push(std::size_t column) {
        m_block.push_back(column);
        return check();
    }

    // Flow brackets and quotes on the rest of a line; a bracket or a quote
    // opens something only where a value starts (not inside "a[0]" or "it's").
    bool chars(std::string_view l, std::size_t from, std::size_t indent) {
        bool value_start = true;
        for (std::size_t k = from; k < l.size(); ++k) {
            const char c = l[k];
            if (m_quote == '"') {
                if (c == '\\') {
                    ++k;
                } else if (c == '"') {
                    m_quote = 0;
                    value_start = false;
                }
                continue;
            }
            if (m_quote == '\'') {
                if (c == '\'' && k + 1 < l.size() && l[k + 1] == '\'') {
                    ++k;
                } else if (c == '\'') {
                    m_quote = 0;
                    value_start = false;
                }
                continue;
            }
            const bool space_after = k + 1 == l.size() || l[k + 1] == ' ' || l[k + 1] == '\t';
            if (c == ' ' || c == '\t') {
                continue;
            }
            if (c == '#' && (k == 0 || l[k - 1] == ' ' || l[k - 1] == '\t')) {
                return true;
            }
            if (value_start && (c == '"' || c == '\'')) {
                m_quote = c;
            } else if ((value_start || m_flow > 0) && (c == '[' || c == '{')) {
                ++m_flow;
                if (!check()) {
                    return false;
                }
                value_start = true;
            } else if (m_flow > 0 && (c == ']' || c == '}')) {
                --m_flow;
                value_start = false;
            } else if (m_flow > 0 && c == ',') {
                value_start = true;
            } else if (c == ':' && (space_after || m_flow > 0)) {
                value_start = true;
            } else if (value_start && (c == '&' || c == '!')) {
                // an anchor or a tag comes before its value
                while (k + 1 < l.size() && l[k + 1] != ' ' && l[k + 1] != '\t') {
                    ++k;
                }
            } else if (value_start && m_flow == 0 && (c == '|' || c == '>')) {
                m_block_scalar = static_cast<long>(indent);
                return true;
            } else {
                value_start = false;
            }
        }
        return true;
    }
};

// Depth (collections only) and size of the loaded tree, aliases followed,
// without recursion.
void check_tree(const YAML::Node& root) {
    std::vector<std::pair<YAML::Node, std::size_t>> pending{{root, 1}};
    std::size_t visited = 0;
    while (!pending.empty()) {
        auto [node, depth] = std::move(pending.back());
        pending.pop_back();
        if (++visited > k_max_yaml_nodes) {
            throw YAML::ParserException(
                node.Mark(),
                "YAML aliases expand to more than " + std::to_string(k_max_yaml_nodes) + " nodes");
        }
        if (node.IsSequence()) {
            if (depth > k_max_yaml_depth) {
                too_deep(node.Mark().line);
            }
            for (const auto& item : node) {
                pending.emplace_back(item, depth + 1);
            }
        } else if (node.IsMap()) {
            if (depth > k_max_yaml_depth) {
                too_deep(node.Mark().line);
            }
            for (const auto& member : node) {
                pending.emplace_back(member.first, depth + 1);
                pending.emplace_back(member.second, depth + 1);
            }
        }
    }
}

}  // namespace

namespace detail {

std::size_t yaml_text_depth(std::string_view text, std::size_t limit, int& line) {
    DepthScan scan(limit);
    line = 0;
    for (std::size_t start = 0; start <= text.size(); ++line) {
        auto end = text.find('\n', start);
        if (end == std::string_view::npos) {
            end = text.size();
        }
        if (!scan.line(text.substr(start, end - start))) {
            return scan.deepest;
        }
        start = end + 1;
    }
    return scan.deepest;
}

}  // namespace detail

YAML::Node load_yaml(std::string_view text) {
    int line = 0;
    if (detail::yaml_text_depth(text, k_max_yaml_depth, line) > k_max_yaml_depth) {
        too_deep(line);
    }
    YAML::Node root = YAML::Load(std::string(text));
    check_tree(root);
    return root;
}

YAML::Node load_yaml_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw YAML::BadFile(path);
    }
    const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    return load_yaml(text);
}

}  // namespace pb
