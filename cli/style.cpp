#include "cli/style.hpp"

#include <algorithm>
#include <cstdlib>
#include <unistd.h>

namespace pb::cli {
namespace {

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) {
        row[j] = j;
    }
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
            diagonal = above;
        }
    }
    return row[b.size()];
}

}  // namespace

Style Style::for_fd(int fd) {
    const char* no_color = std::getenv("NO_COLOR");
    const char* term = std::getenv("TERM");
    const bool dumb = term == nullptr || std::string_view(term) == "dumb";
    return Style(isatty(fd) == 1 && (no_color == nullptr || no_color[0] == '\0') && !dumb);
}

std::string Style::wrap(std::string_view code, std::string_view text) const {
    if (!m_on) {
        return std::string(text);
    }
    return std::string(code) + std::string(text) + "\033[0m";
}

std::string nearest(std::string_view typed, const std::vector<std::string>& names) {
    std::string best;
    std::size_t best_distance = 3;
    for (const auto& name : names) {
        const std::size_t d =
            name.rfind(typed, 0) == 0 && !typed.empty() ? 1 : edit_distance(typed, name);
        if (d < best_distance) {
            best = name;
            best_distance = d;
        }
    }
    return best;
}

}  // namespace pb::cli
