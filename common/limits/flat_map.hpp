#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace pb::limits {

// A seeded 64-bit hash of short strings (identifiers: addresses, names, ids).
// The seed is drawn once per process, so which identifiers collide cannot be
// worked out from outside.
std::uint64_t hash_id(std::string_view id);

// An open-addressing hash map from strings to V, for the rate limiter's hot
// path: linear probing over one flat array, the full hash kept in each slot,
// so a lookup usually touches one cache line and never rehashes a key. Not
// thread-safe (the limiter guards each one with its shard's mutex). Keys are
// given with their hash_id().
template <class V>
class FlatMap {
  public:
    V* find(std::string_view key, std::uint64_t hash) {
        if (m_size == 0) {
            return nullptr;
        }
        hash = tag(hash);
        for (std::size_t i = hash & m_mask;; i = (i + 1) & m_mask) {
            Slot& s = m_slots[i];
            if (s.hash == 0) {
                return nullptr;
            }
            if (s.hash == hash && s.key() == key) {
                return &s.value;
            }
        }
    }

    // Adds `key`, which must be absent, with a default V; returns it.
    V& insert(std::string_view key, std::uint64_t hash) {
        // Up to 80% full: linear probing stays short and the table small
        // enough that a lookup is one cache miss, not two.
        if ((m_size + 1) * 5 > m_slots.size() * 4) {
            grow();
        }
        hash = tag(hash);
        std::size_t i = hash & m_mask;
        while (m_slots[i].hash != 0) {
            i = (i + 1) & m_mask;
        }
        m_slots[i] = Slot(hash, key);
        ++m_size;
        return m_slots[i].value;
    }

    bool erase(std::string_view key, std::uint64_t hash) {
        if (m_size == 0) {
            return false;
        }
        hash = tag(hash);
        for (std::size_t i = hash & m_mask;; i = (i + 1) & m_mask) {
            if (m_slots[i].hash == 0) {
                return false;
            }
            if (m_slots[i].hash == hash && m_slots[i].key() == key) {
                erase_at(i);
                return true;
            }
        }
    }

    // Erases some entry, starting the search at slot `start` (the caller's
    // pseudo-random pick). No-op when empty.
    void erase_some(std::size_t start) {
        if (m_size == 0) {
            return;
        }
        for (std::size_t i = start & m_mask;; i = (i + 1) & m_mask) {
            if (m_slots[i].hash != 0) {
                erase_at(i);
                return;
            }
        }
    }

    // Erases every entry for which pred(value) is true (one pass, rebuilding).
    template <class Pred>
    void erase_if(Pred&& pred) {
        std::vector<Slot> old;
        old.swap(m_slots);
        const std::size_t capacity = old.size();
        m_slots = std::vector<Slot>(capacity);
        m_size = 0;
        for (auto& s : old) {
            if (s.hash != 0 && !pred(s.value)) {
                place(std::move(s));
            }
        }
    }

    std::size_t size() const { return m_size; }

  private:
    // A key of up to k_inline bytes lives in the slot itself (an address key,
    // a key id, most names), so comparing it costs no second cache miss.
    static constexpr std::size_t k_inline = 20;
    struct Slot {
        std::uint64_t hash = 0;  // 0: empty
        V value{};
        std::uint32_t size = 0;
        std::array<char, k_inline> inline_key{};
        std::unique_ptr<char[]> heap_key;

        Slot() = default;
        Slot(std::uint64_t h, std::string_view k)
            : hash(h), size(static_cast<std::uint32_t>(k.size())) {
            char* dest = inline_key.data();
            if (k.size() > k_inline) {
                heap_key = std::make_unique<char[]>(k.size());
                dest = heap_key.get();
            }
            std::copy(k.begin(), k.end(), dest);
        }
        std::string_view key() const {
            return {size > k_inline ? heap_key.get() : inline_key.data(), size};
        }
    };

    static std::uint64_t tag(std::uint64_t hash) { return hash == 0 ? 1 : hash; }

    void place(Slot&& s) {
        std::size_t i = s.hash & m_mask;
        while (m_slots[i].hash != 0) {
            i = (i + 1) & m_mask;
        }
        m_slots[i] = std::move(s);
        ++m_size;
    }

    void grow() {
        std::vector<Slot> old;
        old.swap(m_slots);
        const std::size_t capacity = old.empty() ? 16 : old.size() * 2;
        m_slots = std::vector<Slot>(capacity);
        m_mask = capacity - 1;
        m_size = 0;
        for (auto& s : old) {
            if (s.hash != 0) {
                place(std::move(s));
            }
        }
    }

    // Backward-shift deletion: later entries of the probe run move up, so no
    // tombstones accumulate.
    void erase_at(std::size_t i) {
        std::size_t hole = i;
        for (std::size_t j = (i + 1) & m_mask; m_slots[j].hash != 0; j = (j + 1) & m_mask) {
            const std::size_t home = m_slots[j].hash & m_mask;
            // Move j into the hole unless its home lies cyclically in (hole, j].
            const bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
            if (!stays) {
                m_slots[hole] = std::move(m_slots[j]);
                hole = j;
            }
        }
        m_slots[hole] = Slot{};
        --m_size;
    }

    std::vector<Slot> m_slots;
    std::size_t m_mask = 0;
    std::size_t m_size = 0;
};

}  // namespace pb::limits
