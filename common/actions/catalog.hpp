#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/actions/loader.hpp"
#include "common/actions/op_host.hpp"
#include "common/core/config.hpp"
#include "common/core/swappable.hpp"

namespace pb::actions {

struct CatalogSettings {
    std::vector<std::filesystem::path> paths;  // folders (or files) of actions
    int max_concurrent = 4;                    // command runs at once
    std::chrono::milliseconds kill_grace{5'000};
};

// actions.paths (comma-separated), actions.max_concurrent, actions.kill_grace.
// Error(invalid_argument) for a bad value.
CatalogSettings catalog_settings_from_config(const Config& config);

// The actions loaded from the configured folders. Reads an immutable snapshot
// swapped whole on reload, so a run keeps the action it started with.
// Thread-safe.
class Catalog {
  public:
    // Loads at once; problems are logged (logger "actions"), never thrown.
    // `host` checks op actions against its table and runs them.
    Catalog(CatalogSettings settings, OpHost host);

    // Scans the folders again and swaps the result in.
    void reload();
    // Takes new settings (actions.paths, max_concurrent, kill_grace), then
    // reload(). Runs under way keep their action and their slot.
    void reload(CatalogSettings settings);
    // reload() when a file or folder changed since the last scan (its mtime,
    // size, or the set of files); a few stat calls otherwise. True if it reloaded.
    bool reload_if_changed();

    std::shared_ptr<const Loaded> snapshot() const;
    // The action named `name`, kept alive with its snapshot. Error(not_found).
    std::shared_ptr<const Action> find(std::string_view name) const;

    // A place among the actions.max_concurrent runs, released on destruction.
    class Slot {
      public:
        explicit Slot(std::atomic<int>& running) : m_running(&running) {}
        ~Slot() {
            if (m_running != nullptr) {
                m_running->fetch_sub(1);
            }
        }
        Slot(Slot&& o) noexcept : m_running(std::exchange(o.m_running, nullptr)) {}
        Slot(const Slot&) = delete;
        Slot& operator=(const Slot&) = delete;
        Slot& operator=(Slot&&) = delete;

      private:
        std::atomic<int>* m_running;
    };
    // Error(unavailable) when max_concurrent runs are under way.
    Slot acquire();

    const CatalogSettings& settings() const { return m_settings.get(); }
    const OpHost& host() const { return m_host; }

  private:
    std::string fingerprint() const;

    Swappable<CatalogSettings> m_settings;
    OpHost m_host;
    mutable std::mutex m_mutex;
    std::shared_ptr<const Loaded> m_loaded;
    std::string m_fingerprint;
    std::atomic<int> m_running{0};
};

}  // namespace pb::actions
