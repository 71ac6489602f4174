#include "cli/remote.hpp"

#include <httplib.h>

#include "cli/pbd_refusal.hpp"
#include "common/core/error.hpp"
#include "common/core/json_parse.hpp"
#include "common/core/time_format.hpp"
#include "common/ops/route_template.hpp"

namespace pb::cli {
namespace {

using nlohmann::json;

std::string query_value(const json& v) {
    return v.is_string() ? v.get<std::string>() : v.dump();
}

}  // namespace

json call_remote(const std::string& server, const std::string& api_key, std::int64_t timeout_ms,
                 const ops::Op& op, const json& input) {
    json args = input;
    // The route's {captures} filled from args (and taken out of them), URL-encoded.
    std::string path = ops::RouteTemplate(op.route.path).expand(args);
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
    if (auto refusal = refusal_of(res->body, !api_key.empty())) {
        throw std::move(*refusal);
    }
    throw Error(res->status >= 500 ? ErrorCode::unavailable : ErrorCode::internal,
                "pbd answered HTTP " + std::to_string(res->status));
}

}  // namespace pb::cli
