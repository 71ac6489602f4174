#pragma once

#include "common/ops/registry.hpp"

namespace pb::secrets {

// secrets.status, secrets.put, secrets.get, secrets.patch, secrets.list,
// secrets.metadata, secrets.configure, secrets.delete, secrets.undelete,
// secrets.destroy (the CLI's `pbctl vault …`).
void register_secrets_ops(ops::OpTable& table);

}  // namespace pb::secrets
