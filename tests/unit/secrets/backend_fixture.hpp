#pragma once

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "common/core/clock.hpp"
#include "common/core/error.hpp"
#include "common/core/secret_box.hpp"
#include "common/secrets/local_backend.hpp"
#include "common/secrets/vault_backend.hpp"
#include "common/store/migrations.hpp"
#include "common/store/store.hpp"
#include "tests/support/errors.hpp"
#include "tests/support/kv2_server.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_db.hpp"

namespace pb::secrets::test {

using pb::test::error_code_of;

// The local backend on each database, and Vault's API.
enum class Kind { local, local_postgres, vault };

inline std::string kind_name(const ::testing::TestParamInfo<Kind>& info) {
    switch (info.param) {
        case Kind::local:
            return "Local";
        case Kind::local_postgres:
            return "LocalPostgres";
        case Kind::vault:
            return "Vault";
    }
    return "?";
}

// The store, a master key and the Vault test server every secrets test may use.
class SecretsEnv {
  protected:
    explicit SecretsEnv(pb::test::Backend database = pb::test::Backend::sqlite)
        : db(database),
          store(store::open_store(db.url(), store::StoreOptions{.pool_size = 4})),
          box(std::make_unique<SecretBox>(std::string(32, 'k'))) {
        store::migrate(*store, clock);
    }

    std::unique_ptr<LocalBackend> local_backend(const SecretBox* with = nullptr) {
        const SecretBox* b = with != nullptr ? with : box.get();
        return std::make_unique<LocalBackend>(
            *store, clock, [b]() -> const SecretBox& { return *b; }, 10);
    }

    // Settings for the test server, which is started on first use.
    VaultSettings vault_settings() {
        if (!server) {
            server = std::make_unique<pb::test::Kv2Server>();
        }
        VaultSettings s;
        s.address = server->address();
        s.token = pb::test::Kv2Server::k_root_token;
        s.timeout_ms = 5000;
        s.max_retries = 0;
        s.backoff_ms = 5;
        return s;
    }

    pb::test::TempDir dir;
    pb::test::TestDb db;
    ManualClock clock;
    std::unique_ptr<store::Store> store;
    std::unique_ptr<SecretBox> box;
    std::unique_ptr<pb::test::Kv2Server> server;
};

// One behaviour suite, run against each backend.
class BackendTest : public SecretsEnv, public ::testing::TestWithParam<Kind> {
  protected:
    BackendTest()
        : SecretsEnv(GetParam() == Kind::local_postgres ? pb::test::Backend::postgres
                                                        : pb::test::Backend::sqlite) {
        if (GetParam() != Kind::vault) {
            backend = local_backend();
        } else {
            backend = std::make_unique<VaultBackend>(vault_settings());
        }
    }

    // The fields of the latest version (or `version`).
    Fields read(const std::string& path, std::optional<std::int64_t> version = std::nullopt) {
        return backend->read(path, version).data;
    }

    std::unique_ptr<Backend> backend;
};

}  // namespace pb::secrets::test
