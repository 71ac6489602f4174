#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

namespace pb {

// Settings read on every request and replaced, rarely, by a reload (pbd's
// SIGHUP or `pbctl reload`). A read is one atomic load (no lock, no
// reference count: the hot paths of the gate and verify stay as they were);
// swap() publishes a new value whole, so a reader sees the old settings or
// the new ones, never a mix. Every value ever published is kept until the
// Swappable dies, so a reference from get() stays valid however long it is
// held: a reload costs the size of its settings (bytes to a few KB), once,
// and a reload that changes no setting publishes nothing (Services::apply).
// get() is thread-safe against swap(); swaps are serialised.
template <typename T>
class Swappable {
  public:
    explicit Swappable(T value) { swap(std::move(value)); }
    Swappable(const Swappable&) = delete;
    Swappable& operator=(const Swappable&) = delete;

    const T& get() const { return *m_current.load(std::memory_order_acquire); }
    const T* operator->() const { return &get(); }

    // Publishes `value`; readers that took the previous one keep it.
    void swap(T value) {
        auto next = std::make_unique<const T>(std::move(value));
        std::lock_guard lock(m_mutex);
        m_current.store(next.get(), std::memory_order_release);
        m_all.push_back(std::move(next));
    }

  private:
    std::atomic<const T*> m_current{nullptr};
    std::mutex m_mutex;  // writers only
    std::vector<std::unique_ptr<const T>> m_all;
};

}  // namespace pb
