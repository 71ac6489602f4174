#include "common/keys/imported_keys.hpp"

#include <mutex>

namespace pb::keys {
namespace {

// A crude bound, as the record index's: found ids are read again on demand.
constexpr std::size_t k_max_remembered = 500'000;

}  // namespace

ImportedKeys::ImportedKeys(store::Store& store) : m_store(store) {}

bool ImportedKeys::any() {
    const int state = m_state.load(std::memory_order_acquire);
    if (state != unknown) {
        return state == some;
    }
    const auto generation = m_generation.load(std::memory_order_acquire);
    const bool found = m_store.transaction(
        [](store::Connection& c) {
            return !c.query("SELECT 1 FROM api_key_imports LIMIT 1").empty();
        },
        store::TxMode::read);
    if (m_generation.load(std::memory_order_acquire) == generation) {
        int expected = unknown;
        m_state.compare_exchange_strong(expected, found ? some : none, std::memory_order_acq_rel);
    }
    return found;
}

std::optional<std::string> ImportedKeys::find(const std::string& hash) {
    {
        std::shared_lock lock(m_mutex);
        if (const auto it = m_id_of_hash.find(hash); it != m_id_of_hash.end()) {
            return it->second;
        }
    }
    const auto generation = m_generation.load(std::memory_order_acquire);
    const auto rows = m_store.transaction(
        [&](store::Connection& c) {
            return c.query("SELECT imported_key_id FROM api_key_imports WHERE imported_hash = $1",
                           {hash});
        },
        store::TxMode::read);
    if (rows.empty()) {
        return std::nullopt;
    }
    std::string id = rows.front().get_text(0);
    std::unique_lock lock(m_mutex);
    if (m_generation.load(std::memory_order_acquire) != generation) {
        return id;  // a key was deleted meanwhile: answer, but do not remember
    }
    if (m_id_of_hash.size() >= k_max_remembered) {
        m_id_of_hash.clear();
        m_hash_of_id.clear();
    }
    m_id_of_hash[hash] = id;
    m_hash_of_id[id] = hash;
    return id;
}

void ImportedKeys::note_imported() {
    m_generation.fetch_add(1, std::memory_order_acq_rel);
    m_state.store(some, std::memory_order_release);
}

void ImportedKeys::note_removed(std::string_view id) {
    std::unique_lock lock(m_mutex);
    m_generation.fetch_add(1, std::memory_order_acq_rel);
    m_state.store(unknown, std::memory_order_release);
    if (const auto it = m_hash_of_id.find(std::string(id)); it != m_hash_of_id.end()) {
        m_id_of_hash.erase(it->second);
        m_hash_of_id.erase(it);
    }
}

}  // namespace pb::keys
