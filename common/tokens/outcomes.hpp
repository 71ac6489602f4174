#pragma once

#include "common/core/outcomes.hpp"

namespace pb::tokens {

// tokens.verify's answers in this process, by outcome: valid, or the
// refusal's reason (jwt.hpp's Reason). pbd renders pb_token_verify_total.
// A JWT presented as a request's credential is counted by admission instead.
Outcomes& token_verify_outcomes();

}  // namespace pb::tokens
