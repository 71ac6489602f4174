#include "common/tokens/outcomes.hpp"

namespace pb::tokens {

// Process-wide, as Prometheus client libraries keep their registries.
Outcomes& token_verify_outcomes() {
    static Outcomes outcomes{"valid",         "malformed",       "bad_signature",    "expired",
                             "not_yet_valid", "wrong_audience",  "wrong_issuer",     "revoked",
                             "unknown_key",   "unsupported_alg", "wrong_token_type", "other"};
    return outcomes;
}

}  // namespace pb::tokens
