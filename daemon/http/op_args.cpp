// How an HTTP request becomes an op's args (the fuzz target request_fuzz
// assembles them the same way).
#include "daemon/http/op_args.hpp"

#include "common/core/json_parse.hpp"
#include "common/core/percent.hpp"
#include "common/ops/validate.hpp"

namespace pb::daemon {
namespace {

using nlohmann::json;

constexpr std::string_view k_json = "application/json";

// Decodes %XX escapes; Error(invalid_argument) on a broken one.
std::string percent_decode_arg(std::string_view s, Plus plus) {
    auto out = percent_decode(s, plus);
    if (!out) {
        throw Error(ErrorCode::invalid_argument, "malformed percent-encoding in the URL");
    }
    return *out;
}

Error given_twice(const std::string& name) {
    return Error(ErrorCode::invalid_argument,
                 "argument \"" + name + "\" is given more than once (path, query or body)",
                 {{"param", name}});
}

// Adds query parameters to `args`; a repeated name becomes an array.
void add_query(std::string_view query, const json& captures, json& args) {
    while (!query.empty()) {
        const auto amp = query.find('&');
        const auto pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        if (pair.empty()) {
            continue;
        }
        const auto eq = pair.find('=');
        auto name = percent_decode_arg(pair.substr(0, eq), Plus::space);
        auto value = eq == std::string_view::npos
                         ? std::string()
                         : percent_decode_arg(pair.substr(eq + 1), Plus::space);
        if (captures.contains(name)) {
            throw given_twice(name);
        }
        auto it = args.find(name);
        if (it == args.end()) {
            args.emplace(std::move(name), std::move(value));
        } else if (it->is_array()) {
            it->push_back(std::move(value));
        } else {
            *it = json::array({std::move(*it), std::move(value)});
        }
    }
}

// The JSON object a request body carries, merged into `args`.
void add_body(const Request& request, json& args) {
    if (request.body.empty()) {
        return;
    }
    const auto type = request.header("Content-Type");
    auto media = type.substr(0, type.find(';'));
    while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) {
        media.remove_suffix(1);
    }
    if (!iequals(media, k_json)) {
        throw StatusError(415, ErrorCode::invalid_argument,
                          "a request body must be JSON (Content-Type: application/json)",
                          {{"content_type", std::string(type)}});
    }
    auto body = parse_json(request.body, "request body");
    if (!body.is_object()) {
        throw Error(ErrorCode::invalid_argument, "the request body must be a JSON object");
    }
    if (args.empty()) {
        args = std::move(body);
        return;
    }
    for (auto& [name, value] : body.items()) {
        if (args.contains(name)) {
            throw given_twice(name);
        }
        args[name] = std::move(value);
    }
}

// A URL's path and query are text by nature: their values are read as the
// JSON form of the op's params ("5" an integer, "true" a boolean, one value a
// list) before the body joins them; the body's values are JSON and stay as sent.
void read_url_text(const ops::Op& op, json& args) {
    for (auto& [name, value] : args.items()) {
        if (const ops::Param* p = op.find_param(name);
            p != nullptr && ops::param_on(*p, ops::Surface::json)) {
            value = ops::from_url_text(*p, value);
        }
    }
}

}  // namespace

json query_args(std::string_view query) {
    json q = json::object();
    add_query(query, json::object(), q);
    return q;
}

json op_args(const Request& request, const ops::OpTable::RouteMatch& match,
             std::string_view query) {
    json args = json::object();
    for (const auto& [name, value] : match.captures) {
        args[name] = percent_decode_arg(value, Plus::literal);
    }
    if (!query.empty()) {
        const json captures = args;
        add_query(query, captures, args);
    }
    if (match.op != nullptr) {
        read_url_text(*match.op, args);
    }
    add_body(request, args);
    return args;
}

}  // namespace pb::daemon
