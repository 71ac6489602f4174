#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pb::cli {

// Terminal styling, on only where it helps: when the stream is a terminal, and
// never with NO_COLOR set (https://no-color.org) or TERM=dumb. Pipes, files
// and scripts get plain text.
class Style {
  public:
    Style() = default;
    // Styling for file descriptor `fd` (1 for stdout, 2 for stderr).
    static Style for_fd(int fd);

    bool enabled() const { return m_on; }
    std::string bold(std::string_view text) const { return wrap("\033[1m", text); }
    std::string red(std::string_view text) const { return wrap("\033[31m", text); }

  private:
    explicit Style(bool on) : m_on(on) {}
    std::string wrap(std::string_view code, std::string_view text) const;

    bool m_on = false;
};

// The nearest of `names` to `typed` (edit distance at most 2, or a name that
// `typed` begins), for "did you mean" hints; "" when none is near.
std::string nearest(std::string_view typed, const std::vector<std::string>& names);

}  // namespace pb::cli
