#include "common/admission/outcomes.hpp"

namespace pb::admission {

// Process-wide, as Prometheus client libraries keep their registries: every
// surface of one process counts into the same series, whichever Services
// object answered.
Outcomes& key_verify_outcomes() {
    static Outcomes outcomes{"valid",     "malformed", "unknown", "revoked",      "expired",
                             "exhausted", "disabled",  "banned",  "rate_limited", "other"};
    return outcomes;
}

Outcomes& credential_outcomes(CredentialKind kind) {
    static Outcomes key{"valid",    "malformed",           "unknown", "revoked", "expired",
                        "disabled", "permissions_changed", "other"};
    static Outcomes token{
        "valid",         "malformed",       "bad_signature",    "expired",
        "not_yet_valid", "wrong_audience",  "wrong_issuer",     "revoked",
        "unknown_key",   "unsupported_alg", "wrong_token_type", "permissions_changed",
        "other"};
    static Outcomes none{"missing"};
    switch (kind) {
        case CredentialKind::key:
            return key;
        case CredentialKind::token:
            return token;
        case CredentialKind::none:
            break;
    }
    return none;
}

CredentialKind credential_kind(std::string_view text) {
    if (text.empty()) {
        return CredentialKind::none;
    }
    return !text.starts_with("pb_") && text.find('.') != std::string_view::npos
               ? CredentialKind::token
               : CredentialKind::key;
}

std::string_view to_string(CredentialKind kind) {
    switch (kind) {
        case CredentialKind::key:
            return "key";
        case CredentialKind::token:
            return "token";
        case CredentialKind::none:
            break;
    }
    return "none";
}

}  // namespace pb::admission
