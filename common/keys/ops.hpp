#pragma once

#include "common/ops/registry.hpp"

namespace pb::keys {

// keys.create, keys.import, keys.verify, keys.list, keys.show, keys.update,
// keys.rotate, keys.disable, keys.enable, keys.revoke, keys.delete.
void register_keys_ops(ops::OpTable& table);
// identities.create, identities.list, identities.show, identities.update,
// identities.delete (identity_ops.cpp).
void register_identity_ops(ops::OpTable& table);

}  // namespace pb::keys
