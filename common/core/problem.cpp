#include "common/core/problem.hpp"

#include <array>
#include <utility>

namespace pb {
namespace {

using nlohmann::json;

// The members RFC 9457 defines, and pb's "code": a detail never takes their place.
constexpr std::array<std::string_view, 6> k_reserved{"type",   "title",    "status",
                                                     "detail", "instance", "code"};

bool reserved(std::string_view name) {
    for (const auto r : k_reserved) {
        if (r == name) {
            return true;
        }
    }
    return name == "details";
}

}  // namespace

std::string problem_type(ErrorCode code) {
    if (code == ErrorCode::rate_limited) {
        return "urn:pb:problem:quota-exceeded";
    }
    std::string kebab(to_string(code));
    for (auto& c : kebab) {
        if (c == '_') {
            c = '-';
        }
    }
    return "urn:pb:problem:" + kebab;
}

std::string_view problem_title(ErrorCode code) {
    switch (code) {
        case ErrorCode::invalid_argument:
            return "Invalid argument";
        case ErrorCode::unauthenticated:
            return "Unauthenticated";
        case ErrorCode::not_found:
            return "Not found";
        case ErrorCode::conflict:
            return "Conflict";
        case ErrorCode::permission_denied:
            return "Permission denied";
        case ErrorCode::banned:
            return "Banned";
        case ErrorCode::rate_limited:
            return "Quota exceeded";
        case ErrorCode::unavailable:
            return "Unavailable";
        case ErrorCode::internal:
            break;
    }
    return "Internal error";
}

json problem_document(const Error& e, int status) {
    json out{{"type", problem_type(e.code())},
             {"title", problem_title(e.code())},
             {"status", status},
             {"detail", e.what()},
             {"code", to_string(e.code())}};
    const auto& details = e.details();
    if (!details.is_object()) {
        if (!details.is_null()) {
            out["details"] = details;
        }
        return out;
    }
    json kept = json::object();
    for (const auto& [k, v] : details.items()) {
        if (reserved(k)) {
            kept[k] = v;
        } else {
            out[k] = v;
        }
    }
    if (!kept.empty()) {
        out["details"] = std::move(kept);
    }
    return out;
}

std::optional<Error> error_from_problem(const json& body) {
    if (!body.is_object() || !body.contains("code") || !body["code"].is_string() ||
        !body.contains("detail") || !body["detail"].is_string()) {
        return std::nullopt;
    }
    json details = json::object();
    for (const auto& [k, v] : body.items()) {
        if (k == "details" && v.is_object()) {
            details.update(v);
        } else if (!reserved(k)) {
            details[k] = v;
        }
    }
    return Error(error_code_from_string(body["code"].get<std::string>()),
                 body["detail"].get<std::string>(), std::move(details));
}

}  // namespace pb
