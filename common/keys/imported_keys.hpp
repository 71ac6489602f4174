#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/store/store.hpp"

namespace pb::keys {

// Keys moved in from another system (keys.import) are found by the SHA-256 of
// their text, since they carry no pb id. This knows whether any exist, so
// that a text not in pb's format costs no lookup while none do (the pb-format
// path never asks), and which key id a hash belongs to. Its owner,
// KeyService, tells it of changes from its outbox listener (note_*), so that
// an import or a delete made by another process is seen at that process's
// next catch_up(). Thread-safe.
class ImportedKeys {
  public:
    explicit ImportedKeys(store::Store& store);

    // True when some key was imported: from memory, but for the first call
    // after construction or note_removed(), which asks the store.
    bool any();
    // The id of the key imported with `hash` (64 lowercase hex digits), or
    // nullopt. Found ids are remembered (a hash's key changes only when that
    // key is deleted); misses are not, so they ask the store each time.
    std::optional<std::string> find(const std::string& hash);

    // A key was imported (key.imported).
    void note_imported();
    // The key `id` was deleted (key.deleted): its hash is forgotten, and
    // whether any imported key is left is asked again.
    void note_removed(std::string_view id);

  private:
    enum State : int { unknown, none, some };

    store::Store& m_store;
    std::atomic<int> m_state{unknown};
    // Bumped by every note_*(): an answer read from the store while one
    // happened is not kept.
    std::atomic<std::uint64_t> m_generation{0};

    std::shared_mutex m_mutex;
    std::unordered_map<std::string, std::string> m_id_of_hash;
    std::unordered_map<std::string, std::string> m_hash_of_id;
};

}  // namespace pb::keys
