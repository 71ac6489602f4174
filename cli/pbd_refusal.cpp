#include "cli/pbd_refusal.hpp"

#include "common/core/json_parse.hpp"
#include "common/core/problem.hpp"

namespace pb::cli {

Error with_credential_advice(Error e, bool sent_credential) {
    if (sent_credential || e.code() != ErrorCode::unauthenticated || !e.details().is_object() ||
        e.details().value("reason", std::string()) != "missing") {
        return e;
    }
    return Error(ErrorCode::unauthenticated,
                 "pbd needs a credential and pbctl has none: set PB_API_KEY to an API key or "
                 "token (or cli.api_key in the --config file; --api-key also works but shows "
                 "in ps)",
                 e.details());
}

std::optional<Error> refusal_of(std::string_view body, bool sent_credential) {
    auto error = error_from_problem(parse_json_or_discarded(body, {k_max_stored_json_depth}));
    if (!error) {
        return std::nullopt;
    }
    return with_credential_advice(std::move(*error), sent_credential);
}

}  // namespace pb::cli
