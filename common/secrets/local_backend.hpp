#pragma once

#include <functional>
#include <mutex>
#include <unordered_map>

#include "common/core/clock.hpp"
#include "common/core/secret_box.hpp"
#include "common/secrets/backend.hpp"
#include "common/store/store.hpp"

namespace pb::secrets {

// The embedded backend: secrets in the store (tables secrets and
// secret_versions), each version's fields sealed with AES-256-GCM under the
// master key, with the path and version as associated data so a ciphertext
// copied to another row or version does not open. Every change appends an
// event (topic "secrets/<path>", never a value) in its transaction. Reads of
// the latest version are served from a cache of ciphertexts that any commit to
// the store (from any process) invalidates.
class LocalBackend final : public Backend {
  public:
    // `box` opens the master key on first use (pbctl commands that never
    // decrypt never read the key file). `default_max_versions` applies to
    // secrets whose own max_versions is 0.
    LocalBackend(store::Store& store, const Clock& clock, std::function<const SecretBox&()> box,
                 std::int64_t default_max_versions);

    nlohmann::json status() override;
    Secret read(std::string_view path, std::optional<std::int64_t> version) override;
    std::int64_t write(std::string_view path, const Fields& data,
                       std::optional<std::int64_t> cas) override;
    std::int64_t patch(std::string_view path, const FieldPatch& patch,
                       std::optional<std::int64_t> cas) override;
    std::vector<std::string> list(std::string_view prefix) override;
    std::vector<std::string> list_page(std::string_view prefix,
                                       const std::optional<std::string>& after,
                                       std::int64_t limit) override;
    Metadata metadata(std::string_view path) override;
    void update_metadata(std::string_view path, const MetadataUpdate& update) override;
    void remove(std::string_view path, const std::vector<std::int64_t>& versions) override;
    void undelete(std::string_view path, const std::vector<std::int64_t>& versions) override;
    void destroy(std::string_view path, const std::vector<std::int64_t>& versions) override;

    // A path's row (defined in the .cpp).
    struct Head;

  private:
    std::int64_t store_version(store::Connection& c, std::string_view path,
                               const std::optional<Head>& head, const Fields& data,
                               std::optional<std::int64_t> cas);
    Fields open_fields(std::string_view path, std::int64_t version, const std::string& sealed);
    void mark_versions(std::string_view path, const std::vector<std::int64_t>& versions,
                       std::string_view action);

    struct Cached {
        std::int64_t version = 0;
        std::string sealed;
        UnixMillis created_at = 0;
    };
    std::optional<Cached> cached_latest(std::string_view path, std::uint64_t token);
    void remember_latest(std::string_view path, std::uint64_t token, const Cached& row);

    store::Store& m_store;
    const Clock& m_clock;
    std::function<const SecretBox&()> m_box;
    std::int64_t m_default_max_versions;
    // Latest live versions' ciphertexts (never plaintext), valid while the
    // store's change token stands still: a get then skips SQLite.
    std::mutex m_cache_mutex;
    std::uint64_t m_cache_token = 0;
    std::unordered_map<std::string, Cached> m_cache;
};

}  // namespace pb::secrets
