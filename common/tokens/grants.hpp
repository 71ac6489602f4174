#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/tokens/service.hpp"

namespace pb::tokens {

// The permissions a token's claims ask for: its "permissions" list or, when it
// has none, its OAuth 2 "scope" (space-separated). Anything else: none.
std::vector<std::string> claimed_permissions(const nlohmann::json& claims);

// `claimed` cut to `ceiling`: a permission stays when the ceiling covers it
// (ops::has_permission), except "admin" and "*", which stay only when the
// ceiling names them itself.
std::vector<std::string> within_ceiling(const std::vector<std::string>& claimed,
                                        const std::vector<std::string>& ceiling);

// For issuing: Error(permission_denied) naming the first permission that
// `claims` ("permissions" or "scope") ask for and `holder` lacks, so a token
// carries no more than the caller that asks for it; Error(invalid_argument)
// when "permissions" is not a list of strings or "scope" not a string.
void require_within(const nlohmann::json& claims, const std::vector<std::string>& holder);

// What a verified token may do as a caller of pbd.
struct Credential {
    std::vector<std::string> permissions;
    std::string subject;  // "sub", prefixed "<issuer name>:" for a trusted issuer's token
};

// A token of pb's own is a credential only when its "aud" is absent or names
// settings.daemon_audience (tokens pb mints for other services are not); a
// trusted issuer's token has its claimed permissions within the issuer's
// grants. Error(unauthenticated, details.reason wrong_audience) otherwise.
Credential credential_of(const TokenCheck& check, const TokenSettings& settings);

}  // namespace pb::tokens
