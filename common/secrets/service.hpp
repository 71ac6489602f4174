#pragma once

#include <functional>
#include <memory>

#include "common/core/clock.hpp"
#include "common/core/config.hpp"
#include "common/core/secret_box.hpp"
#include "common/secrets/backend.hpp"
#include "common/store/store.hpp"

namespace pb::secrets {

// The backend secrets.backend names: "local" (the store, sealed with the master
// key `box` opens) or "vault" (secrets.vault.*). Error(invalid_argument) for an
// unknown backend or an unusable vault setting.
std::unique_ptr<Backend> make_backend(const Config& config, store::Store& store, const Clock& clock,
                                      std::function<const SecretBox&()> box);

// The lookup Config::resolve_secrets() uses: field `field` of the latest version
// of `path` through `backend` (called on first need), nullopt when the secret
// or the field does not exist. Each secret is read once per lookup object.
SecretLookup config_lookup(std::function<Backend&()> backend);

}  // namespace pb::secrets
