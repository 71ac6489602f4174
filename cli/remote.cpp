#include "cli/remote.hpp"

#include <cctype>

#include <httplib.h>

#include "common/core/error.hpp"
#include "common/core/json_parse.hpp"
#include "common/core/time_format.hpp"

namespace pb::cli {
namespace {

using nlohmann::json;

// Percent-encodes everything but RFC 3986's unreserved characters.
std::string encode_segment(std::string_view s) {
    static constexpr char k_hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out.push_back(static_cast<char>(c));
        } else {
            out += '%';
            out += k_hex[c >> 4];
            out += k_hex[c & 0xF];
        }
    }
    return out;
}

std::string query_value(const json& v) {
    return v.is_string() ? v.get<std::string>() : v.dump();
}

// Fills the route's {captures} from args (removing them) and URL-encodes them.
std::string build_path(const ops::Op& op, json& args) {
    std::string path = op.route.path;
    for (auto open = path.find('{'); open != std::string::npos; open = path.find('{', open)) {
        const auto close = path.find('}', open);
        auto name = path.substr(open + 1, close - open - 1);
        // A "{name...}" tail keeps its slashes: each segment is encoded alone.
        const bool tail = name.ends_with("...");
        if (tail) {
            name.resize(name.size() - 3);
        }
        const auto value = args.contains(name) ? query_value(args[name]) : std::string();
        args.erase(name);
        std::string encoded;
        if (tail) {
            std::string_view rest(value);
            for (auto slash = rest.find('/'); slash != std::string_view::npos;
                 slash = rest.find('/')) {
                encoded += encode_segment(rest.substr(0, slash)) + "/";
                rest.remove_prefix(slash + 1);
            }
            encoded += encode_segment(rest);
        } else {
            encoded = encode_segment(value);
        }
        path.replace(open, close - open + 1, encoded);
        open += encoded.size();
    }
    return path;
}

}  // namespace

json call_remote(const std::string& server, const std::string& api_key, std::int64_t timeout_ms,
                 const ops::Op& op, const json& input) {
    json args = input;
    std::string path = build_path(op, args);
    httplib::Client client(server);
    if (!client.is_valid()) {
        throw Error(ErrorCode::invalid_argument, "--server: not an http(s) URL: " + server);
    }
    client.set_tcp_nodelay(true);
    const auto secs = timeout_ms / 1000;
    const auto usecs = (timeout_ms % 1000) * 1000;
    client.set_connection_timeout(secs, usecs);
    client.set_read_timeout(secs, usecs);
    client.set_write_timeout(secs, usecs);
    httplib::Headers headers{{"Accept", "application/json"}};
    if (!api_key.empty()) {
        headers.emplace("Authorization", "Bearer " + api_key);
    }
    httplib::Result res{nullptr, httplib::Error::Unknown};
    const auto& method = op.route.method;
    if (method == "GET" || method == "DELETE") {
        httplib::Params params;
        for (const auto& [k, v] : args.items()) {
            const auto* param = op.find_param(k);
            if (param != nullptr && param->type == ops::ParamType::duration &&
                v.is_number_integer()) {
                // Text durations need their unit to validate again on the server.
                params.emplace(k, format_duration(v.get<std::int64_t>()));
            } else if (v.is_array()) {
                for (const auto& item : v) {
                    params.emplace(k, query_value(item));
                }
            } else if (!v.is_null()) {
                params.emplace(k, query_value(v));
            }
        }
        if (!params.empty()) {
            path += "?" + httplib::detail::params_to_query_str(params);
        }
        res = method == "GET" ? client.Get(path, headers) : client.Delete(path, headers);
    } else {
        const auto body = args.dump();
        if (method == "POST") {
            res = client.Post(path, headers, body, "application/json");
        } else if (method == "PATCH") {
            res = client.Patch(path, headers, body, "application/json");
        } else {
            res = client.Put(path, headers, body, "application/json");
        }
    }
    if (!res) {
        throw Error(ErrorCode::unavailable,
                    "cannot reach pbd at " + server + ": " + httplib::to_string(res.error()));
    }
    auto body = parse_json_or_discarded(res->body, {k_max_stored_json_depth});
    if (res->status >= 200 && res->status < 300) {
        if (body.is_discarded()) {
            throw Error(ErrorCode::internal, "pbd answered with something that is not JSON");
        }
        return body;
    }
    if (body.is_object() && body.contains("error") && body["error"].is_object()) {
        throw Error::from_json(body["error"]);
    }
    throw Error(res->status >= 500 ? ErrorCode::unavailable : ErrorCode::internal,
                "pbd answered HTTP " + std::to_string(res->status));
}

}  // namespace pb::cli
