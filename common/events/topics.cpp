#include "common/events/topics.hpp"

#include <string>

#include "common/core/error.hpp"

namespace pb::events {

bool topic_matches(std::string_view pattern, std::string_view topic) {
    if (!pattern.empty() && pattern.back() == '*') {
        return topic.starts_with(pattern.substr(0, pattern.size() - 1));
    }
    if (!topic.starts_with(pattern)) {
        return false;
    }
    return topic.size() == pattern.size() || topic[pattern.size()] == '/';
}

void check_pattern(std::string_view pattern) {
    const auto bad = [&](const std::string& why) {
        return Error(ErrorCode::invalid_argument, "topic pattern: " + why, {{"param", "topics"}});
    };
    if (pattern.empty()) {
        throw bad("must not be empty");
    }
    if (pattern.size() > 200) {
        throw bad("longer than 200 bytes");
    }
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        const auto c = static_cast<unsigned char>(pattern[i]);
        if (c <= 0x20 || c == 0x7f) {
            throw bad("holds a space or a control character");
        }
        if (c == '*' && i + 1 != pattern.size()) {
            throw bad("'*' may only end a pattern (\"states/user_*\")");
        }
    }
}

std::string read_permission(std::string_view pattern) {
    const auto group = pattern.substr(0, pattern.find('/'));
    if (group.empty() || group.find('*') != std::string_view::npos) {
        return "events:read";
    }
    return std::string(group) + ":read";
}

}  // namespace pb::events
