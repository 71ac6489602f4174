#pragma once

#include "common/ops/registry.hpp"

namespace pb::keys {

// keys.import: other systems' keys by hash, one (--hash) or a document of many
// (pbctl: a CSV or JSON FILE). Registered by register_keys_ops.
void register_key_import_op(ops::OpTable& table);

}  // namespace pb::keys
