#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/core/error.hpp"
#include "common/ops/registry.hpp"
#include "daemon/http/request.hpp"

namespace pb::daemon {

// An Error answered with a status other than http_status(code): 405, 413, 415, 431.
class StatusError : public Error {
  public:
    StatusError(int status, ErrorCode code, std::string message,
                nlohmann::json details = nlohmann::json::object())
        : Error(code, std::move(message), std::move(details)), m_status(status) {}
    int status() const { return m_status; }

  private:
    int m_status;
};

// The query's parameters as a JSON object of strings; a repeated name becomes
// an array. Error(invalid_argument) for a broken %XX escape.
nlohmann::json query_args(std::string_view query);

// An op's args as pbd receives them: the route's captures and the query's
// parameters, their text read as the op's params' JSON form (ops::from_url_text:
// "5" an integer, "true" a boolean), and the members of a JSON body object as
// sent, merged; dispatch() then takes only the JSON form. Errors: a broken
// %XX escape or a name given twice (path, query or body) is invalid_argument;
// a body that is not JSON is StatusError 415; one that is not an object (or
// not valid JSON) is invalid_argument.
nlohmann::json op_args(const Request& request, const ops::OpTable::RouteMatch& match,
                       std::string_view query);

}  // namespace pb::daemon
