#include "common/core/error.hpp"

#include <array>
#include <utility>

namespace pb {
namespace {

struct CodeInfo {
    ErrorCode code;
    std::string_view name;
    int exit;
    int http;
};

constexpr std::array k_codes{
    CodeInfo{ErrorCode::invalid_argument, "invalid_argument", 2, 400},
    CodeInfo{ErrorCode::unauthenticated, "unauthenticated", 3, 401},
    CodeInfo{ErrorCode::not_found, "not_found", 4, 404},
    CodeInfo{ErrorCode::conflict, "conflict", 5, 409},
    CodeInfo{ErrorCode::permission_denied, "permission_denied", 6, 403},
    CodeInfo{ErrorCode::banned, "banned", 6, 403},
    CodeInfo{ErrorCode::rate_limited, "rate_limited", 6, 429},
    CodeInfo{ErrorCode::unavailable, "unavailable", 7, 503},
    CodeInfo{ErrorCode::internal, "internal", 1, 500},
};

const CodeInfo& info(ErrorCode code) {
    for (const auto& c : k_codes) {
        if (c.code == code) {
            return c;
        }
    }
    return k_codes.back();
}

}  // namespace

std::string_view to_string(ErrorCode code) {
    return info(code).name;
}

ErrorCode error_code_from_string(std::string_view name) {
    for (const auto& c : k_codes) {
        if (c.name == name) {
            return c.code;
        }
    }
    return ErrorCode::internal;
}

int exit_code(ErrorCode code) {
    return info(code).exit;
}
int http_status(ErrorCode code) {
    return info(code).http;
}

Error::Error(ErrorCode code, std::string message, nlohmann::json details)
    : std::runtime_error(std::move(message)), m_code(code), m_details(std::move(details)) {}

nlohmann::json Error::to_json() const {
    return {{"code", to_string(m_code)}, {"message", what()}, {"details", m_details}};
}

Error Error::from_json(const nlohmann::json& j) {
    const auto code = error_code_from_string(j.value("code", "internal"));
    auto details = j.contains("details") ? j["details"] : nlohmann::json::object();
    return Error(code, j.value("message", "unknown error"), std::move(details));
}

}  // namespace pb
