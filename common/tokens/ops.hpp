#pragma once

#include "common/ops/registry.hpp"

namespace pb::tokens {

// tokens.issue, tokens.verify, tokens.refresh, tokens.revoke, tokens.inspect,
// tokens.jwks, tokens.keys.list, tokens.keys.rotate, tokens.keys.retire, and
// the tokens.issuers.* ops (issuer_ops.hpp).
void register_tokens_ops(ops::OpTable& table);

}  // namespace pb::tokens
