#pragma once

#include "common/ops/registry.hpp"

namespace pb::tokens {

// tokens.issuers.add, tokens.issuers.list, tokens.issuers.show,
// tokens.issuers.update, tokens.issuers.remove.
void register_tokens_issuer_ops(ops::OpTable& table);

}  // namespace pb::tokens
