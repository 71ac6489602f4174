#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pb::redis {

// A Redis reply (RESP2), copied out of hiredis so that its types stay in the
// client's translation units.
struct Reply {
    enum class Type { nil, integer, string, status, error, array };

    Type type = Type::nil;
    std::int64_t integer = 0;
    std::string str;  // string, status and error replies
    std::vector<Reply> elements;

    bool is_error() const { return type == Type::error; }
    bool is_nil() const { return type == Type::nil; }
    // The first word of an error reply: "NOSCRIPT", "WRONGTYPE", "ERR"…
    std::string error_kind() const { return str.substr(0, str.find(' ')); }
};

}  // namespace pb::redis
