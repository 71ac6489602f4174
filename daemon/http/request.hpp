#pragma once

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pb::admission {
struct Credential;
}  // namespace pb::admission

namespace pb::daemon {

// One request header field as received.
struct Header {
    std::string_view name;
    std::string_view value;
};

// An HTTP request as the router sees it, free of any transport type. Every view
// stays valid for the duration of one Router::handle() call.
struct Request {
    std::string_view method;  // "GET", "POST", …
    std::string_view target;  // path and query, as sent
    std::span<const Header> headers;
    std::string_view body;
    std::string_view remote;  // "address:port" of the peer
    // The credential, when the transport verified it already (to check its
    // limits ahead, admission::Plan): the pipeline takes it rather than
    // verify it twice.
    const admission::Credential* authenticated = nullptr;

    // The value of the first header named `name` (compared case-insensitively),
    // or an empty view.
    std::string_view header(std::string_view name) const;
};

// What the router answers. Reused across the requests of one connection, so
// clear() keeps the capacity of its buffers.
struct Response {
    int status = 200;
    std::string_view content_type;  // a static string
    std::string body;
    // Extra header fields; names are static strings.
    std::vector<std::pair<std::string_view, std::string>> headers;

    void clear() {
        status = 200;
        content_type = {};
        body.clear();
        headers.clear();
    }
};

// ASCII case-insensitive equality, as HTTP compares field names and tokens.
bool iequals(std::string_view a, std::string_view b);

}  // namespace pb::daemon
