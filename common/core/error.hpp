#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace pb {

// The stable failure codes of DESIGN.md. Each boundary maps them once:
// exit_code() for the CLI, http_status() for HTTP, the name for JSON.
enum class ErrorCode {
    invalid_argument,
    unauthenticated,
    not_found,
    conflict,
    permission_denied,
    banned,
    rate_limited,
    unavailable,
    internal,
};

// The code's stable name, e.g. "not_found".
std::string_view to_string(ErrorCode code);
// Parses a stable name; unknown names map to internal.
ErrorCode error_code_from_string(std::string_view name);
// The pbctl exit status for a code.
int exit_code(ErrorCode code);
// The HTTP status for a code.
int http_status(ErrorCode code);

// The one error type of pb. `message` is for people and never holds a secret;
// `details` carries machine-readable context (field names, reasons).
class Error : public std::runtime_error {
  public:
    Error(ErrorCode code, std::string message, nlohmann::json details = nlohmann::json::object());

    ErrorCode code() const { return m_code; }
    const nlohmann::json& details() const { return m_details; }
    // {"code":"…","message":"…","details":{…}}
    nlohmann::json to_json() const;
    // Rebuilds an error from to_json()'s shape (remote mode).
    static Error from_json(const nlohmann::json& j);

  private:
    ErrorCode m_code;
    nlohmann::json m_details;
};

}  // namespace pb
