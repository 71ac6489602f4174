#include "cli/param_input.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/core/error.hpp"
#include "common/ops/validate.hpp"

namespace pb::cli {
namespace {

[[noreturn]] void refuse(const ops::Param& p, const std::string& msg) {
    throw Error(ErrorCode::invalid_argument, msg, {{"param", p.name}});
}

[[noreturn]] void cannot_read(const ops::Param& p, std::string_view what, const std::string& path,
                              const std::string& why) {
    refuse(p, std::string(what) + ": cannot read file " + path + ": " + why);
}

// Reads `fd` to its end, or fails with errno; more than `max` bytes is refused
// before it is all read (stdin may be endless).
enum class ReadOutcome { ok, too_large, failed };
ReadOutcome read_bounded(int fd, std::size_t max, std::string& out) {
    char buf[65536];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return ReadOutcome::failed;
        }
        if (n == 0) {
            return ReadOutcome::ok;
        }
        if (out.size() + static_cast<std::size_t>(n) > max) {
            return ReadOutcome::too_large;
        }
        out.append(buf, static_cast<std::size_t>(n));
    }
}

bool is_inline_json(std::string_view value) {
    const auto first = value.find_first_not_of(" \t\r\n");
    return first != std::string_view::npos && value[first] == '{';
}

}  // namespace

std::string ParamInput::json_text(const ops::Param& p, const std::string& value) {
    const auto label = ops::param_label(p, ops::NameStyle::flag);
    if (value.empty() || is_inline_json(value)) {
        return value;  // validation says what is wrong with an empty or broken text
    }
    if (value == "-") {
        return claim_stdin(p, label);
    }
    return file_text(p, value.front() == '@' ? value.substr(1) : value, label);
}

std::string ParamInput::stdin_text(const ops::Param& p) {
    return claim_stdin(p, ops::param_label(p, ops::NameStyle::flag));
}

nlohmann::json ParamInput::fields_from_words(const ops::Param& p,
                                             const std::vector<std::string>& words) {
    nlohmann::json out = nlohmann::json::object();
    const auto label = ops::param_label(p, ops::NameStyle::flag);
    for (const auto& w : words) {
        const auto eq = w.find('=');
        if (eq == std::string::npos || eq == 0) {
            // Only the part before any "=" could be shown, and there is none: say nothing of w.
            refuse(p, label + ": expected NAME=VALUE words");
        }
        const auto name = w.substr(0, eq);
        const auto value = w.substr(eq + 1);
        if (out.contains(name)) {
            refuse(p, label + ": field \"" + name + "\" given twice");
        }
        const auto what = label + ": field \"" + name + "\"";
        if (value == "-") {
            out[name] = claim_stdin(p, what);
        } else if (value.starts_with("@")) {
            out[name] = file_text(p, value.substr(1), what);
        } else {
            out[name] = value;
        }
    }
    return out;
}

std::string ParamInput::claim_stdin(const ops::Param& p, std::string_view what) {
    if (!m_stdin_taken_by.empty()) {
        refuse(p, std::string(what) + ": stdin (\"-\") is already read for " + m_stdin_taken_by +
                      "; give one of them from a file");
    }
    m_stdin_taken_by = std::string(what);
    std::string all;
    switch (read_bounded(m_stdin_fd, m_max_bytes, all)) {
        case ReadOutcome::too_large:
            refuse(p, std::string(what) + ": stdin holds more than " + std::to_string(m_max_bytes) +
                          " bytes");
        case ReadOutcome::failed:
            refuse(p, std::string(what) + ": cannot read stdin: " + std::strerror(errno));
        case ReadOutcome::ok:
            break;
    }
    while (!all.empty() && (all.back() == '\n' || all.back() == '\r')) {
        all.pop_back();
    }
    return all;
}

std::string ParamInput::file_text(const ops::Param& p, const std::string& path,
                                  std::string_view what) {
    if (path.empty()) {
        refuse(p, std::string(what) + ": \"@\" needs a file path after it");
    }
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        cannot_read(p, what, path, std::strerror(errno));
    }
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        cannot_read(p, what, path, "it is a directory");
    }
    std::string text;
    switch (read_bounded(fd, m_max_bytes, text)) {
        case ReadOutcome::too_large:
            cannot_read(p, what, path, "larger than " + std::to_string(m_max_bytes) + " bytes");
        case ReadOutcome::failed:
            cannot_read(p, what, path, std::strerror(errno));
        case ReadOutcome::ok:
            break;
    }
    return text;
}

}  // namespace pb::cli
